"""The demo helpers: seeding vehicles, and the hands-free auto-dispatch of the local run."""

from datetime import timedelta

import pytest

from services.transport.demo import seed_demo
from services.transport.settings import Settings
from shared.contracts.transport import HandedOver, ManifestDispatched
from tests.transport.conftest import ADMIN, PHNOM_PENH, Feed, registered, transfer_events


async def test_seed_demo_registers_vehicles_per_border_province_once(database):
    settings = Settings(database_url=database, environment="test")

    first = await seed_demo(settings)
    again = await seed_demo(settings)

    assert first == 21 and again == 0  # three vehicles in each of the seven border provinces


@pytest.fixture
async def auto(stack):
    service = await stack.start(
        "transport", auto_dispatch=True, auto_dispatch_max_wait_minutes=60, auto_dispatch_interval_seconds=0.1
    )
    await seed_demo(stack.settings("transport", service.database_url))
    return service


async def test_auto_dispatch_sends_the_long_waiting_and_hands_them_over_on_arrival(stack, auto):
    feed = Feed(stack, auto)
    people = [registered(PHNOM_PENH, policy="home") for _ in range(3)]
    await feed.released(*people)

    listed = await auto.client.get("/manifests", headers=ADMIN)
    assert listed.json() == [], "three people do not fill a vehicle, and they have not waited an hour yet"

    auto.runtime.clock.advance(timedelta(minutes=61))
    [dispatched] = await transfer_events(stack, expect=1)
    assert isinstance(dispatched, ManifestDispatched)
    assert {p.returnee_id for p in dispatched.passengers} == {r.returnee_id for r in people}

    auto.runtime.clock.advance(dispatched.expected_arrival - dispatched.dispatched_at)
    handed = await transfer_events(stack, expect=4, kind=HandedOver)
    assert {e.returnee_id for e in handed} == {r.returnee_id for r in people}
