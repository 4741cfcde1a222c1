"""Refusals, scope and the working group's page data, on the real broker and PostgreSQL."""

from datetime import timedelta
from uuid import uuid4

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from services.transport.models import Manifest, Vehicle
from shared.messaging.outbox import outbox
from tests.conftest import bearer
from tests.transport.conftest import (
    ADMIN,
    KAMPONG_CHAM,
    OFFICER_01,
    PHNOM_PENH,
    PREY_VENG,
    add_vehicle,
    registered,
)
from tests.transport.test_transfers import confirm_and_dispatch, propose


async def stored(service) -> dict[str, int]:
    """Rows of manifests, vehicles and outbox events in the service's database."""
    engine = create_async_engine(service.database_url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for name, table in (("manifests", Manifest.__table__), ("vehicles", Vehicle.__table__)):
                counts[name] = await conn.scalar(select(func.count()).select_from(table))
            counts["events"] = await conn.scalar(select(func.count()).select_from(outbox))
            return counts
    finally:
        await engine.dispose()


async def test_bad_input_is_refused_with_a_4xx_and_nothing_is_stored(transport, feed):
    client = transport.client
    van = await add_vehicle(client, 2)
    family = uuid4()
    people = [registered(PHNOM_PENH) for _ in range(3)]
    kin = [registered(PHNOM_PENH, household=family) for _ in range(2)]
    await feed.released(*people, *kin)
    before = await stored(transport)

    overfull = {
        "vehicle_id": van,
        "destination_province_code": "12",
        "returnee_ids": [str(p.returnee_id) for p in people],
    }
    r = await client.post("/manifests", json=overfull, headers=OFFICER_01)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "returnee_ids"], "msg": "3 passengers for 2 seats", "type": "value_error"}
    ]

    split = {"vehicle_id": van, "destination_province_code": "12", "returnee_ids": [str(kin[0].returnee_id)]}
    r = await client.post("/manifests", json=split, headers=OFFICER_01)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "returnee_ids"], "msg": f"household {family} would be split", "type": "value_error"}
    ]

    r = await client.post("/vehicles", json={"plate": "X1", "seats": 0}, headers=ADMIN)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} >= {("body", "seats"), ("body", "driver")}
    assert await stored(transport) == before

    ok = {
        "vehicle_id": van,
        "destination_province_code": "12",
        "returnee_ids": [str(p.returnee_id) for p in people[:2]],
    }
    manifest = (await client.post("/manifests", json=ok, headers=OFFICER_01)).json()
    before = await stored(transport)

    r = await client.post(f"/manifests/{manifest['id']}/dispatch", json={}, headers=OFFICER_01)
    assert r.status_code == 409 and "confirm it first" in r.json()["detail"]
    assert (await client.get(f"/manifests/{manifest['id']}", headers=ADMIN)).json()["status"] == "proposed"
    assert await stored(transport) == before

    await confirm_and_dispatch(client, manifest["id"], duration_minutes=90)
    before = await stored(transport)
    stranger = {"returnee_id": str(people[2].returnee_id), "outcome": "handed_over"}
    r = await client.post(f"/manifests/{manifest['id']}/arrivals", json=stranger, headers=ADMIN)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "returnee_id"], "msg": "not a passenger of this manifest", "type": "value_error"}
    ]
    r = await client.post(
        f"/manifests/{manifest['id']}/arrivals", json={"returnee_id": "nope", "outcome": "x"}, headers=ADMIN
    )
    assert r.status_code == 422
    assert await stored(transport) == before


async def test_scope_decides_who_acts_and_who_sees(transport, feed):
    client = transport.client
    await add_vehicle(client, 12)
    await feed.released(registered(PHNOM_PENH))
    other_officer = bearer(("transport_officer", "02"))

    r = await client.post("/manifests/propose", json={"origin_province_code": "01"}, headers=other_officer)
    assert r.status_code == 404
    [manifest] = (await propose(client))["manifests"]
    url = f"/manifests/{manifest['id']}"
    assert (await client.post(f"{url}/confirm", headers=other_officer)).status_code == 404
    r = await client.post(f"{url}/confirm", headers=bearer(("provincial_wg", "01")))
    assert r.status_code == 403
    assert (await client.get(url)).status_code == 401

    for reader, seen in (("12", True), ("01", True), ("14", False)):
        r = await client.get(url, headers=bearer(("provincial_wg", reader)))
        assert r.status_code == (200 if seen else 404), reader
        listed = await client.get("/manifests", headers=bearer(("provincial_wg", reader)))
        assert [m["id"] for m in listed.json()] == ([manifest["id"]] if seen else [])

    await confirm_and_dispatch(client, manifest["id"])
    arrival = {"returnee_id": manifest["passengers"][0]["returnee_id"], "outcome": "handed_over"}
    r = await client.post(f"{url}/arrivals", json=arrival, headers=OFFICER_01)
    assert r.status_code == 404, "hand-over belongs to the destination province"
    r = await client.post(f"{url}/arrivals", json=arrival, headers=bearer(("transport_officer", "12")))
    assert r.status_code == 200


async def test_overview_shows_who_waits_what_is_on_the_road_and_what_is_overdue(transport, feed):
    client = transport.client
    await add_vehicle(client, 2)
    await feed.released(registered(PHNOM_PENH), registered(PHNOM_PENH))
    await feed.released(*(registered(KAMPONG_CHAM, policy="home") for _ in range(3)))
    await feed.publish(registered(PREY_VENG))  # still in quarantine
    [manifest] = (await propose(client))["manifests"]
    await confirm_and_dispatch(client, manifest["id"], duration_minutes=120)

    page = (await client.get("/overview", headers=ADMIN)).json()
    assert [(w["origin"], w["destination"], w["count"]) for w in page["waiting"]] == [("01", "03", 3)]
    assert page["waiting"][0]["destination_name"]["km"] == "កំពង់ចាម"
    assert [(n["destination"], n["held"], n["count"]) for n in page["not_ready"]] == [("14", False, 1)]
    [on_road] = page["in_transit"]
    assert on_road["id"] == manifest["id"] and on_road["expected_arrival"] and not on_road["overdue"]
    assert page["overdue"] == []

    transport.runtime.clock.advance(timedelta(hours=3))
    page = (await client.get("/overview", headers=bearer(("provincial_wg", "12")))).json()
    assert [m["id"] for m in page["overdue"]] == [manifest["id"]]
    assert page["waiting"] == [], "Kampong Cham's queue is none of Phnom Penh's business"


async def test_the_page_is_served_in_khmer_and_english_without_a_cdn(transport):
    page = await transport.client.get("/transport/")
    assert page.status_code == 200
    script = await transport.client.get("/transport/app.js")
    assert script.status_code == 200
    for text in (page.text, script.text):
        assert "https://" not in text and "http://" not in text
    assert "/overview" in script.text and "/auth/token" in script.text
    # The words come from the catalog (shared/i18n), public like the config: the page reads both before login.
    words = (await transport.client.get("/transport/messages.json")).json()
    assert (words["km"]["queue"], words["en"]["queue"]) == ("ជួររង់ចាំការដឹកជញ្ជូន", "Transfer queue")
    config = await transport.client.get("/transport/config.json")
    assert config.status_code == 200
    assert config.json()["provinces"]["12"] == {"km": "ភ្នំពេញ", "en": "Phnom Penh"}


async def test_supplies_are_recorded_against_the_special_care_on_board(transport, feed):
    client = transport.client
    await add_vehicle(client, 12)
    await feed.released(registered(PHNOM_PENH, care=("infant",)), registered(PHNOM_PENH, care=("pregnant",)))
    [manifest] = (await propose(client))["manifests"]
    assert manifest["care"] == {"infant": 1, "pregnant": 1}
    url = f"/manifests/{manifest['id']}/supplies"

    r = await client.put(url, json={"food_rations": 2, "water_litres": 4}, headers=OFFICER_01)
    assert r.status_code == 200 and r.json()["supply_gaps"] == ["medicine"]
    r = await client.put(
        url, json={"food_rations": 2, "water_litres": 4, "medicine_kits": 1}, headers=OFFICER_01
    )
    assert r.json()["supply_gaps"] == [] and r.json()["supplies"]["medicine_kits"] == 1
    assert (await client.put(url, json={"water_litres": -1}, headers=OFFICER_01)).status_code == 422

    await confirm_and_dispatch(client, manifest["id"])
    r = await client.put(url, json={"food_rations": 0}, headers=OFFICER_01)
    assert r.status_code == 409
    assert (await client.get(f"/manifests/{manifest['id']}", headers=ADMIN)).json()["supplies"][
        "food_rations"
    ] == 2


def test_every_route_has_an_explicit_access_rule():
    from services.transport.main import create_app
    from services.transport.settings import Settings
    from shared.web.auth import assert_every_route_has_a_rule

    assert_every_route_has_a_rule(create_app(Settings(environment="test")))


async def test_a_manifest_tells_nothing_of_another_provinces_returnees(transport, feed):
    """Another province's returnee, waiting or held, gets the answer an id nobody knows gets."""
    client = transport.client
    van = await add_vehicle(client, 4)
    waiting_at_daung = registered(PHNOM_PENH, checkpoint="KH-TH-07")  # Battambang (02)
    held_at_daung = registered(KAMPONG_CHAM, checkpoint="KH-TH-07", policy="home", symptoms=("cough",))
    await feed.released(waiting_at_daung, held_at_daung)
    before = await stored(transport)

    def manifest(rid) -> dict:
        return {"vehicle_id": van, "destination_province_code": "12", "returnee_ids": [str(rid)]}

    unknown = await client.post("/manifests", json=manifest(uuid4()), headers=OFFICER_01)
    assert unknown.status_code == 422, unknown.text
    for other in (waiting_at_daung, held_at_daung):
        r = await client.post("/manifests", json=manifest(other.returnee_id), headers=OFFICER_01)
        assert (r.status_code, r.content) == (unknown.status_code, unknown.content)
    assert await stored(transport) == before


async def test_names_of_driver_and_escort_hold_no_invisible_characters(transport):
    """The same rule as returnees' names (shared.contracts.intake.plain_text): NFC, no hidden reordering."""
    client = transport.client
    before = await stored(transport)
    for field, bad in (("driver", "Sok\u202eDara"), ("escort", "\u2066Chan\u2069"), ("driver", "\ufeffSok")):
        body = {
            "plate": "2A-9999",
            "seats": 4,
            "driver": "Sok",
            "escort": "Chan",
            "origin_province_code": "01",
        }
        r = await client.post("/vehicles", json=body | {field: bad}, headers=OFFICER_01)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    assert await stored(transport) == before
    body = {
        "plate": "2A-9998",
        "seats": 4,
        "driver": "សុខ\u200bដារ៉ា",
        "escort": "Chan",
        "origin_province_code": "01",
    }
    made = await client.post("/vehicles", json=body, headers=OFFICER_01)
    assert made.status_code == 201 and made.json()["driver"] == "សុខដារ៉ា"
