"""What the facility staff's page needs of the API: its files and config, who each resident is, whether
today's check-in is done, and the facility's beds, each within the staff's own facility."""

from datetime import timedelta

from services.quarantine.settings import Settings
from tests.conftest import bearer
from tests.quarantine.helpers import ADMIN, add_facility, checkin, episode_in, publish, registered

MANUAL = {"scheduler_seconds": 3600}
STAFF = bearer(("facility_staff", "QF-1"), subject="staff-qf1")
OTHER_STAFF = bearer(("facility_staff", "QF-2"), subject="staff-qf2")


async def test_the_page_its_config_and_words_are_served_without_a_token(stack):
    quarantine = await stack.start("quarantine", identity_url="https://id.example.gov.kh", **MANUAL)
    client = quarantine.client
    config = await client.get("/quarantine/config.json")
    assert config.status_code == 200 and config.json() == {
        "api_base": "",
        "identity_url": "https://id.example.gov.kh",
    }
    words = (await client.get("/quarantine/messages.json")).json()
    assert (words["km"]["title"], words["en"]["title"]) == ("មណ្ឌលចត្តាឡីស័ក", "Quarantine facility")
    index = await client.get("/quarantine/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert '<html lang="km">' in index.text and "app.js" in index.text
    for name in ("app.js", "style.css"):
        assert (await client.get(f"/quarantine/{name}")).status_code == 200
    assert (await client.get("/quarantine/nothing.js")).status_code == 404
    # The page is open; the data behind it is not.
    assert (await client.get("/episodes")).status_code == 401
    assert Settings().identity_url == ""  # default: the page falls back to the same host, port 8000


async def test_residents_carry_their_names_and_todays_check_in(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    client = quarantine.client
    await add_facility(quarantine, "QF-1", capacity=5, lat=13.66, lon=102.55, care=["infant"])
    await add_facility(quarantine, "QF-2", capacity=5, lat=12.0, lon=102.9)
    event = registered(care=("infant",))
    await publish(stack, event)
    placed = await episode_in(quarantine, event.returnee_id, "placed")
    assert placed["facility_id"] == "QF-1"

    (resident,) = (await client.get("/episodes?facility_id=QF-1&status=placed", headers=STAFF)).json()
    assert (resident["name_km"], resident["name_latin"], resident["sex"], resident["age_years"]) == (
        "សុខ ចន្ទា",
        "Sok Chanda",
        "M",
        30,
    )
    assert resident["special_care"] == ["infant"] and resident["day"] == 1
    assert resident["checked_today"] is False and resident["last_checkin"] is None

    assert (await checkin(quarantine, placed["id"], temperature=36.8, headers=STAFF)).status_code == 201
    (resident,) = (await client.get("/episodes?facility_id=QF-1", headers=STAFF)).json()
    assert resident["checked_today"] is True
    assert resident["last_checkin"]["temperature_c"] == 36.8 and resident["last_checkin"]["clear"] is True

    # The next day the round starts again; yesterday's check-in stays the latest one.
    quarantine.runtime.clock.advance(timedelta(days=1))
    detail = (await client.get(f"/episodes/{placed['id']}", headers=STAFF)).json()
    assert (detail["day"], detail["checked_today"]) == (2, False)
    assert detail["last_checkin"]["day"] == 1

    # Another facility's staff see none of it, by list, by id or by returnee.
    assert (await client.get("/episodes", headers=OTHER_STAFF)).json() == []
    assert (await client.get("/episodes?facility_id=QF-1", headers=OTHER_STAFF)).json() == []
    assert (await client.get(f"/episodes/{placed['id']}", headers=OTHER_STAFF)).status_code == 404
    refused = await checkin(quarantine, placed["id"], headers=OTHER_STAFF)
    assert refused.status_code == 404
    assert [f["id"] for f in (await client.get("/facilities", headers=STAFF)).json()] == ["QF-1"]


async def test_staff_set_their_facility_beds_and_new_beds_go_to_whoever_waits(stack):
    quarantine = await stack.start("quarantine", **MANUAL)
    client = quarantine.client
    await add_facility(quarantine, "QF-1", capacity=1, lat=13.66, lon=102.55)
    first, second = registered(), registered()
    await publish(stack, first, second)
    await episode_in(quarantine, first.returnee_id, "placed")
    await episode_in(quarantine, second.returnee_id, "waiting")

    for bad in ({"capacity": -1}, {"capacity": 10_001}, {}, {"capacity": 3, "beds": 3}):
        refused = await client.put("/facilities/QF-1/capacity", json=bad, headers=STAFF)
        assert refused.status_code == 422, bad
    below = await client.put("/facilities/QF-1/capacity", json={"capacity": 0}, headers=STAFF)
    assert below.status_code == 409 and "capacity" in below.json()["detail"]
    assert (
        await client.put("/facilities/QF-1/capacity", json={"capacity": 5}, headers=OTHER_STAFF)
    ).status_code == 404
    chief = bearer(("commune_chief", "011002"))
    assert (
        await client.put("/facilities/QF-1/capacity", json={"capacity": 5}, headers=chief)
    ).status_code == 403
    assert (
        await client.put("/facilities/QF-9/capacity", json={"capacity": 5}, headers=ADMIN)
    ).status_code == 404
    unchanged = (await client.get("/facilities/QF-1", headers=STAFF)).json()
    assert (unchanged["capacity"], unchanged["occupancy"]) == (1, 1)

    grown = await client.put("/facilities/QF-1/capacity", json={"capacity": 3}, headers=STAFF)
    assert grown.status_code == 200, grown.text
    assert (grown.json()["capacity"], grown.json()["occupancy"], grown.json()["free"]) == (3, 2, 1)
    await episode_in(quarantine, second.returnee_id, "placed")
