"""Episodes over real Kafka and PostgreSQL: placement, check-ins, release, queue, households, replays."""

from datetime import timedelta
from uuid import uuid4

from services.quarantine.main import release_due
from shared.contracts.quarantine import (
    CheckinRecorded,
    QuarantineCompleted,
    QuarantineStarted,
    QuarantineWaiting,
    SymptomsReported,
)
from shared.contracts.topics import EPISODE
from tests.conftest import bearer
from tests.quarantine.helpers import (
    ADMIN,
    MALAI,
    add_facility,
    checkin,
    episode,
    episode_in,
    of_type,
    publish,
    registered,
)
from tests.waiting import wait_until

MANUAL = {"scheduler_seconds": 3600}  # the test drives the scheduler's use cases itself


async def test_a_returnee_is_placed_checked_in_and_released_on_day_14(stack):
    quarantine = await stack.start("quarantine", scheduler_seconds=0.1)
    await add_facility(quarantine, "QF-FAR", capacity=5, lat=13.56, lon=102.37)
    await add_facility(quarantine, "QF-NEAR", capacity=5, lat=13.66, lon=102.55)
    event = registered()
    await publish(stack, event)

    placed = await episode_in(quarantine, event.returnee_id, "placed")
    assert placed["facility_id"] == "QF-NEAR"  # nearest to Poipet
    assert (await checkin(quarantine, placed["id"])).status_code == 201
    clock = quarantine.runtime.clock
    clock.advance(timedelta(days=13))
    current = await episode(quarantine, event.returnee_id)
    assert current["day"] == 14
    assert current["missed_days"] == list(range(2, 14))
    assert current["release_blocked"] == "quarantine not over"

    clock.advance(timedelta(days=1))
    # Day 14 is over, but nobody checked the returnee in the final days: held, and it shows.
    await wait_until(
        lambda: _blocked(quarantine, event.returnee_id, "no check-in in the final days"), what="held"
    )
    assert (await checkin(quarantine, placed["id"], temperature=36.9)).status_code == 201
    done = await episode_in(quarantine, event.returnee_id, "completed")
    assert done["completed_on"] == done["ends_on"]

    events = await stack.events(EPISODE, expect=4)
    assert len(of_type(events, QuarantineStarted)) == 1
    assert [e.day for e in of_type(events, CheckinRecorded)] == [1, 15]
    (completed,) = of_type(events, QuarantineCompleted)
    assert completed.returnee_id == event.returnee_id and completed.mode == "border"
    facility = (await quarantine.client.get("/facilities/QF-NEAR", headers=ADMIN)).json()
    assert facility["occupancy"] == 0


async def _blocked(service, returnee_id, reason) -> bool:
    found = await episode(service, returnee_id)
    return found is not None and found["release_blocked"] == reason


async def test_symptoms_refer_the_returnee_and_block_release_until_cleared(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    rt = quarantine.runtime
    await add_facility(quarantine, "QF-1", capacity=5, lat=13.66, lon=102.55)
    event = registered()
    await publish(stack, event)
    placed = await episode_in(quarantine, event.returnee_id, "placed")

    response = await checkin(quarantine, placed["id"], temperature=38.2, symptoms=["cough"])
    assert response.status_code == 201 and response.json()["clear"] is False
    referred = (await quarantine.client.get("/episodes?status=referred", headers=ADMIN)).json()
    assert [e["returnee_id"] for e in referred] == [str(event.returnee_id)]

    rt.clock.advance(timedelta(days=14))
    assert await release_due(rt.deps) == 0
    assert (await episode(quarantine, event.returnee_id))["release_blocked"].startswith("referred")

    cleared = await quarantine.client.post(f"/episodes/{placed['id']}/clearance", headers=ADMIN)
    assert cleared.status_code == 200 and cleared.json()["referred"] is False
    assert await release_due(rt.deps) == 0  # the last check-in still had symptoms
    assert (await checkin(quarantine, placed["id"])).status_code == 201
    assert await release_due(rt.deps) == 1

    events = await stack.events(EPISODE, expect=5)
    (symptoms,) = of_type(events, SymptomsReported)
    assert symptoms.symptoms == ["cough", "fever"] and symptoms.temperature_c == 38.2
    assert len(of_type(events, QuarantineCompleted)) == 1


async def test_a_full_facility_queues_returnees_and_a_release_frees_the_bed(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    rt = quarantine.runtime
    await add_facility(quarantine, "QF-ONE", capacity=1, lat=13.66, lon=102.55)
    first, second = registered(), registered()
    await publish(stack, first, second)
    placed = await episode_in(quarantine, first.returnee_id, "placed")
    waiting = await episode_in(quarantine, second.returnee_id, "waiting")
    assert waiting["facility_id"] is None and waiting["waiting_since"]
    queue = (await quarantine.client.get("/episodes?status=waiting", headers=ADMIN)).json()
    assert [e["returnee_id"] for e in queue] == [str(second.returnee_id)]

    rt.clock.advance(timedelta(days=14))
    assert (await checkin(quarantine, placed["id"])).status_code == 201
    assert await release_due(rt.deps) == 1
    moved_in = await episode_in(quarantine, second.returnee_id, "placed")
    assert moved_in["facility_id"] == "QF-ONE"
    assert moved_in["starts_on"] == rt.clock.today().isoformat()

    events = await stack.events(EPISODE, expect=5)
    (told,) = of_type(events, QuarantineWaiting)
    assert told.returnee_id == second.returnee_id and told.province_code == "01"
    # Keyed by returnee, so the two starts sit on different partitions: no order between them.
    assert {e.returnee_id for e in of_type(events, QuarantineStarted)} == {
        first.returnee_id,
        second.returnee_id,
    }
    facility = (await quarantine.client.get("/facilities/QF-ONE", headers=ADMIN)).json()
    assert (facility["occupancy"], facility["free"]) == (1, 0)


async def test_a_household_stays_together(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    await add_facility(quarantine, "QF-POIPET", capacity=5, lat=13.66, lon=102.55, care=["child"])
    await add_facility(quarantine, "QF-MALAI", capacity=5, lat=13.56, lon=102.38, care=["child"])
    household = uuid4()
    parent = registered(household=household)  # at Poipet
    child = registered(household=household, checkpoint=MALAI, care=("child",))
    stranger = registered(checkpoint=MALAI)
    await publish(stack, parent)
    assert (await episode_in(quarantine, parent.returnee_id, "placed"))["facility_id"] == "QF-POIPET"
    await publish(stack, child, stranger)
    # The stranger from Malai goes to the Malai site; the child joins the parent despite the distance.
    assert (await episode_in(quarantine, stranger.returnee_id, "placed"))["facility_id"] == "QF-MALAI"
    assert (await episode_in(quarantine, child.returnee_id, "placed"))["facility_id"] == "QF-POIPET"


async def test_a_household_member_needing_care_the_site_lacks_waits(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    await add_facility(quarantine, "QF-PLAIN", capacity=5, lat=13.66, lon=102.55)
    household = uuid4()
    parent, infant = registered(household=household), registered(household=household, care=("infant",))
    await publish(stack, parent, infant)
    await episode_in(quarantine, parent.returnee_id, "placed")
    await episode_in(quarantine, infant.returnee_id, "waiting")


async def test_replaying_a_registration_opens_one_episode(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    await add_facility(quarantine, "QF-1", capacity=5, lat=13.66, lon=102.55)
    event = registered()
    same_id = str(uuid4())
    await publish(stack, event, event, event_id=same_id)  # a redelivery
    await publish(stack, event)  # the same registration published again under a new id
    (consumer,) = quarantine.runtime.consumers
    await wait_until(lambda: consumer.processed >= 3, what="three deliveries handled")

    episodes = (await quarantine.client.get("/episodes", headers=ADMIN)).json()
    assert [e["returnee_id"] for e in episodes] == [str(event.returnee_id)]
    events = await stack.events(EPISODE, expect=1, settle=1.0)
    assert len(of_type(events, QuarantineStarted)) == 1
    facility = (await quarantine.client.get("/facilities/QF-1", headers=ADMIN)).json()
    assert facility["occupancy"] == 1


async def test_the_scope_of_readers(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    await add_facility(quarantine, "QF-BM", capacity=5, lat=13.66, lon=102.55)
    await add_facility(quarantine, "QF-KK", capacity=5, province="09")
    event = registered(village="14010101")  # home in Prey Veng, quarantined in Banteay Meanchey
    await publish(stack, event)
    placed = await episode_in(quarantine, event.returnee_id, "placed")

    wg = bearer(("provincial_wg", "01"))
    assert [f["id"] for f in (await quarantine.client.get("/facilities", headers=wg)).json()] == ["QF-BM"]
    staff_kk = bearer(("facility_staff", "QF-KK"))
    assert (await quarantine.client.get("/facilities/QF-BM", headers=staff_kk)).status_code == 404
    for who, sees in [
        (wg, True),
        (bearer(("provincial_wg", "14")), True),  # home province
        (bearer(("commune_chief", "140101")), True),
        (bearer(("commune_chief", "140102")), False),
        (bearer(("facility_staff", "QF-BM")), True),
        (staff_kk, False),
        (bearer(("provincial_wg", "09")), False),
    ]:
        found = await episode(quarantine, event.returnee_id, headers=who)
        assert (found is not None) is sees, who
        listed = (await quarantine.client.get("/episodes", headers=who)).json()
        assert len(listed) == (1 if sees else 0), who
    # Staff of another site may not check the returnee in: the episode does not exist for them.
    assert (await checkin(quarantine, placed["id"], headers=staff_kk)).status_code == 404
    officer = bearer(("checkpoint_officer", "KH-TH-01"))
    assert (await quarantine.client.get("/episodes", headers=officer)).status_code == 403
    assert (await quarantine.client.get("/episodes")).status_code == 401
