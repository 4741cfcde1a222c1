"""Auto-dispatch carries on from whatever step an earlier round stopped after.

Found by the fault test: PostgreSQL (or transport) killed between a round's confirm and dispatch left a
`confirmed` manifest whose passengers had left the queue, so no later round ever sent them. Each step now
starts from what is stored, so a round cut short between any two steps leaves nothing stuck.
"""

from datetime import timedelta

from services.transport import autodispatch, queries
from services.transport.demo import seed_demo
from shared.contracts.transport import HandedOver, ManifestDispatched
from tests.transport.conftest import PHNOM_PENH, Feed, registered, transfer_events

WAITED = timedelta(minutes=61)  # past the default hour of waiting that makes a vehicle worth sending


async def test_a_round_carries_on_from_any_step_the_last_one_stopped_after(stack):
    transport = await stack.start("transport")  # auto-dispatch off: the test runs the steps itself
    await seed_demo(stack.settings("transport", transport.database_url))
    deps = transport.runtime.deps
    feed = Feed(stack, transport)
    first, second = [registered(PHNOM_PENH, policy="home") for _ in range(2)]

    async def manifests(status: str) -> list:
        return [v.manifest for v in await deps.run(queries.list_manifests, status=status, scope=None)]

    # One round died after confirming, the next after proposing (the database went away each time).
    await feed.released(first)
    deps.clock.advance(WAITED)
    await deps.run(autodispatch.propose_for_waiting)
    await deps.run(autodispatch.confirm_proposed)
    [confirmed] = await manifests("confirmed")
    await feed.released(second)
    deps.clock.advance(WAITED)
    await deps.run(autodispatch.propose_for_waiting)
    [proposed] = await manifests("proposed")

    await autodispatch.run_round(deps)

    sent = await transfer_events(stack, expect=2, kind=ManifestDispatched)
    assert {e.manifest_id for e in sent} == {confirmed.id, proposed.id}
    assert {p.returnee_id for e in sent for p in e.passengers} == {first.returnee_id, second.returnee_id}
    assert await manifests("proposed") == [] and await manifests("confirmed") == []

    # A round that stopped after dispatching: the next one hands everyone over once the vehicles are due.
    deps.clock.advance(max(e.expected_arrival for e in sent) - deps.clock.now())
    await autodispatch.run_round(deps)

    handed = await transfer_events(stack, expect=4, kind=HandedOver)
    assert {e.returnee_id for e in handed} == {first.returnee_id, second.returnee_id}
    assert {m.id for m in await manifests("closed")} == {confirmed.id, proposed.id}
