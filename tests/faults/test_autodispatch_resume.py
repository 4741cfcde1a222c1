"""Auto-dispatch finishes a manifest an earlier round left half done.

Found by the fault test: PostgreSQL (or transport) killed between a round's confirm and dispatch left a
`confirmed` manifest whose passengers had left the queue, so no later round ever sent them.
"""

from datetime import timedelta

from services.transport import autodispatch, handlers
from services.transport.demo import seed_demo
from shared.events.transport import ManifestDispatched
from tests.transport.conftest import PHNOM_PENH, Feed, registered, transfer_events

POIPET_PROVINCE = "01"


async def test_a_round_dispatches_what_the_last_one_only_proposed_or_confirmed(stack):
    transport = await stack.start("transport")  # auto-dispatch off: the test runs the rounds itself
    await seed_demo(stack.settings("transport", transport.database_url))
    rt = transport.runtime
    feed = Feed(stack, transport)
    first, second = [registered(PHNOM_PENH, policy="home") for _ in range(2)]

    # One round died after confirming, the next after proposing (the database went away each time).
    await feed.released(first)
    [confirmed] = (await handlers.propose_manifests(rt, origin_province=POIPET_PROVINCE)).manifests
    await handlers.confirm_manifest(rt, manifest_id=confirmed.manifest.id, scope=None)
    await feed.released(second)
    [proposed] = (await handlers.propose_manifests(rt, origin_province=POIPET_PROVINCE)).manifests

    await autodispatch.run_round(rt, max_wait=timedelta(minutes=60))

    sent = await transfer_events(stack, expect=2, kind=ManifestDispatched)
    assert {e.manifest_id for e in sent} == {confirmed.manifest.id, proposed.manifest.id}
    assert {p.returnee_id for e in sent for p in e.passengers} == {first.returnee_id, second.returnee_id}
