"""The quarantine API: bad input refused with nothing stored, home self-isolation, referrals, supplies."""

from datetime import timedelta

from fastapi.routing import APIRoute
from sqlalchemy import func, select

from services.quarantine.api import router
from services.quarantine.main import release_due
from services.quarantine.models import Checkin
from shared.contracts.intake import ReturneeReferred
from shared.contracts.notify import SelfIsolationCheckin
from shared.contracts.quarantine import (
    QuarantineCompleted,
    QuarantineStarted,
    ReferralCleared,
    SymptomsReported,
)
from shared.contracts.topics import EPISODE
from shared.contracts.transport import HandedOver
from tests.conftest import bearer
from tests.quarantine.helpers import ADMIN, add_facility, checkin, episode_in, of_type, publish, registered
from tests.waiting import wait_until

MANUAL = {"scheduler_seconds": 3600}


async def _checkins(rt) -> int:
    async with rt.sessions() as session:
        return (await session.execute(select(func.count()).select_from(Checkin))).scalar_one()


async def test_bad_checkins_are_refused_and_nothing_is_stored(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    rt = quarantine.runtime
    await add_facility(quarantine, "QF-1", capacity=5, lat=13.66, lon=102.55)
    event = registered()
    await publish(stack, event)
    placed = await episode_in(quarantine, event.returnee_id, "placed")
    episode_id = placed["id"]

    unknown = await checkin(quarantine, "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and "episode" in unknown.json()["detail"]
    for temperature in (33.9, 43.1):
        refused = await checkin(quarantine, episode_id, temperature=temperature)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "temperature_c"]
    missing = await quarantine.client.post(f"/episodes/{episode_id}/checkins", json={}, headers=ADMIN)
    assert missing.status_code == 422
    too_long = await checkin(quarantine, episode_id, symptoms=["x" * 61])
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][:2] == ["body", "symptoms"]
    for hidden in ("cough\u202e", "\ufefffever", "head\u2066ache\u2069"):
        refused = await checkin(quarantine, episode_id, symptoms=[hidden])
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:2] == ["body", "symptoms"]
    assert (
        await quarantine.client.post("/episodes/nope/checkins", json={}, headers=ADMIN)
    ).status_code == 422
    assert await _checkins(rt) == 0

    rt.clock.advance(timedelta(days=14))
    assert (await checkin(quarantine, episode_id)).status_code == 201
    assert await release_due(rt.deps) == 1
    late = await checkin(quarantine, episode_id)
    assert late.status_code == 409 and "completed" in late.json()["detail"]
    assert await _checkins(rt) == 1


async def test_home_self_isolation_starts_at_hand_over_and_takes_sms_checkins(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    event = registered(policy="home", village="14010101")
    await publish(stack, event)
    waiting = await episode_in(quarantine, event.returnee_id, "awaiting_handover")
    assert waiting["facility_id"] is None and waiting["starts_on"] is None

    handed = quarantine.runtime.clock.now() + timedelta(days=1)
    manifest = "7d9f4a52-9a53-4b0e-9d9b-3b1c1a0d4e11"
    await publish(
        stack,
        HandedOver(
            returnee_id=event.returnee_id,
            manifest_id=manifest,
            home_village_code=event.home_village_code,
            handed_over_at=handed,
        ),
    )
    home = await episode_in(quarantine, event.returnee_id, "home")
    assert home["starts_on"] == (quarantine.runtime.clock.today() + timedelta(days=1)).isoformat()

    chief = bearer(("commune_chief", "140101"))
    assert (await checkin(quarantine, home["id"], headers=chief)).status_code == 201
    await publish(
        stack,
        SelfIsolationCheckin(
            returnee_id=event.returnee_id,
            commune_code="140101",
            symptoms=["cough"],
            reported_at=handed + timedelta(days=2),
        ),
    )
    events = await stack.events(EPISODE, expect=4)
    (started,) = of_type(events, QuarantineStarted)
    assert started.mode == "home" and started.facility_id is None
    (symptoms,) = of_type(events, SymptomsReported)
    assert symptoms.temperature_c is None and symptoms.symptoms == ["cough"]
    detail = await episode_in(quarantine, event.returnee_id, "home")
    assert detail["referred"] is True
    assert [(c["source"], c["clear"]) for c in detail["checkins"]] == [("facility", True), ("commune", False)]

    # The home province's working group clears the hold; a clean SMS report after day 14 releases.
    cleared = await quarantine.client.post(
        f"/episodes/{home['id']}/clearance", headers=bearer(("provincial_wg", "14"))
    )
    assert cleared.status_code == 200, cleared.text
    rt = quarantine.runtime
    rt.clock.advance(timedelta(days=15))
    clean = SelfIsolationCheckin(
        returnee_id=event.returnee_id, commune_code="140101", reported_at=rt.clock.now()
    )
    await publish(stack, clean)
    await wait_until(lambda: rt.consumers[0].processed >= 4, what="the clean report handled")
    assert await release_due(rt.deps) == 1
    events = await stack.events(EPISODE, expect=7)
    (completed,) = of_type(events, QuarantineCompleted)
    assert completed.mode == "home"


async def test_a_hand_over_that_overtakes_the_registration_still_starts_the_episode(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    event = registered(policy="home", village="14010101", checkpoint="KH-TH-13")
    handed = HandedOver(
        returnee_id=event.returnee_id,
        manifest_id="7d9f4a52-9a53-4b0e-9d9b-3b1c1a0d4e11",
        home_village_code=event.home_village_code,
        handed_over_at=quarantine.runtime.clock.now(),
    )
    await publish(stack, handed)
    await episode_in(quarantine, event.returnee_id, "home")
    await publish(stack, event)
    await consumer_done(quarantine.runtime.consumers[0], 2)
    found = await episode_in(quarantine, event.returnee_id, "home")
    assert (found["checkpoint_id"], found["province_code"]) == ("KH-TH-13", "22")
    events = await stack.events(EPISODE, expect=1)
    assert len(of_type(events, QuarantineStarted)) == 1


async def test_a_referral_at_registration_holds_release_until_health_staff_clear_it(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    rt = quarantine.runtime
    await add_facility(quarantine, "QF-1", capacity=5, lat=13.66, lon=102.55)
    event = registered()
    referral = ReturneeReferred(
        returnee_id=event.returnee_id,
        checkpoint_id=event.checkpoint_id,
        home_village_code=event.home_village_code,
        reason="positive test",
        referred_at=rt.clock.now(),
    )
    await publish(stack, event, referral)
    (consumer,) = rt.consumers
    await consumer_done(consumer, 2)
    placed = await episode_in(quarantine, event.returnee_id, "placed")
    assert placed["referred"] is True

    rt.clock.advance(timedelta(days=14))
    assert (await checkin(quarantine, placed["id"])).status_code == 201
    assert await release_due(rt.deps) == 0
    other_wg = bearer(("provincial_wg", "09"))
    clearance = f"/episodes/{placed['id']}/clearance"
    assert (await quarantine.client.post(clearance, headers=other_wg)).status_code == 404
    chief = bearer(("commune_chief", "011002"))
    assert (await quarantine.client.post(clearance, headers=chief)).status_code == 403
    wg = bearer(("provincial_wg", "01"))
    cleared = await quarantine.client.post(clearance, headers=wg)
    assert cleared.status_code == 200 and cleared.json()["cleared_at"]
    assert (await quarantine.client.post(clearance, headers=wg)).status_code == 409
    assert await release_due(rt.deps) == 1
    events = await stack.events(EPISODE, expect=4)
    assert len(of_type(events, ReferralCleared)) == 1


async def consumer_done(consumer, count: int) -> None:
    await wait_until(lambda: consumer.processed >= count, what=f"{count} deliveries handled")


async def test_facilities_show_occupancy_and_low_stock(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    await add_facility(quarantine, "QF-1", capacity=2, lat=13.66, lon=102.55, care=["infant"])
    wg = bearer(("provincial_wg", "01"))
    staff = bearer(("facility_staff", "QF-1"))
    body = {"quantity": 40, "unit": "packs", "low_threshold": 50}
    updated = await quarantine.client.put("/facilities/QF-1/supplies/medicine", json=body, headers=staff)
    assert updated.status_code == 200, updated.text
    assert updated.json()["low_stock"] == ["medicine"]
    body = {"quantity": 900, "unit": "meals", "low_threshold": 100}
    assert (
        await quarantine.client.put("/facilities/QF-1/supplies/food", json=body, headers=wg)
    ).status_code == 200
    listed = (await quarantine.client.get("/facilities", headers=wg)).json()
    assert [(f["id"], f["capacity"], f["occupancy"], f["free"], f["low_stock"]) for f in listed] == [
        ("QF-1", 2, 0, 2, ["medicine"])
    ]
    assert [s["item"] for s in listed[0]["supplies"]] == ["food", "medicine"]

    bad = {"quantity": -1, "unit": "packs", "low_threshold": 5}
    refused = await quarantine.client.put("/facilities/QF-1/supplies/medicine", json=bad, headers=staff)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "quantity"]
    body = {"quantity": 1, "unit": "x", "low_threshold": 0}
    assert (
        await quarantine.client.put("/facilities/QF-1/supplies/gold", json=body, headers=staff)
    ).status_code == 422
    other = bearer(("facility_staff", "QF-2"))
    assert (
        await quarantine.client.put("/facilities/QF-1/supplies/food", json=body, headers=other)
    ).status_code == 404
    after = (await quarantine.client.get("/facilities/QF-1", headers=ADMIN)).json()
    assert {s["item"]: s["quantity"] for s in after["supplies"]} == {"food": 900, "medicine": 40}

    elsewhere = {"id": "QF-X", "province_code": "09", "name_en": "x", "name_km": "x", "capacity": 3}
    assert (await quarantine.client.post("/facilities", json=elsewhere, headers=wg)).status_code == 403
    duplicate = {**elsewhere, "id": "QF-1", "province_code": "01"}
    assert (await quarantine.client.post("/facilities", json=duplicate, headers=wg)).status_code == 409
    wrong = {**elsewhere, "province_code": "01", "capacity": 0}
    assert (await quarantine.client.post("/facilities", json=wrong, headers=wg)).status_code == 422


def test_every_route_has_an_access_rule():
    """Deny by default: each route of the router names the roles it lets in."""
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    # The tenth: PUT /facilities/{id}/capacity; the page config is on its own public router.
    assert len(routes) == 10
    for route in routes:
        assert any(getattr(d.call, "roles", None) for d in route.dependant.dependencies), route.path
