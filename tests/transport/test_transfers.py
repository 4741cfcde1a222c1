"""Transfers on the real broker and PostgreSQL: released returnees to manifests, dispatch, hand-over."""

from uuid import uuid4

from shared.contracts.transport import HandedOver, ManifestDispatched, PassengerMissing
from tests.conftest import bearer
from tests.transport.conftest import (
    ADMIN,
    KAMPONG_CHAM,
    OFFICER_01,
    PHNOM_PENH,
    PREY_VENG,
    add_vehicle,
    cleared,
    completed,
    corrected,
    referred,
    registered,
    symptoms,
    transfer_events,
)


async def propose(client, origin: str = "01", headers=OFFICER_01) -> dict:
    r = await client.post("/manifests/propose", json={"origin_province_code": origin}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def confirm_and_dispatch(client, manifest_id: str, headers=OFFICER_01, **body) -> dict:
    r = await client.post(f"/manifests/{manifest_id}/confirm", headers=headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"/manifests/{manifest_id}/dispatch", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def on_board(manifest: dict) -> set[str]:
    return {p["returnee_id"] for p in manifest["passengers"]}


async def test_three_provinces_become_three_manifests_dispatched_and_handed_over(stack, transport, feed):
    people = (
        [registered(PHNOM_PENH) for _ in range(5)]
        + [registered(KAMPONG_CHAM, policy="home") for _ in range(4)]
        + [registered(PREY_VENG) for _ in range(3)]
    )
    for seats in (12, 12, 12):
        await add_vehicle(transport.client, seats)
    await feed.released(*people)

    proposed = await propose(transport.client)
    manifests = proposed["manifests"]
    assert sorted(m["destination_province_code"] for m in manifests) == ["03", "12", "14"]
    assert sorted(len(m["passengers"]) for m in manifests) == [3, 4, 5]
    for m in manifests:
        await confirm_and_dispatch(transport.client, m["id"])

    dispatched = await transfer_events(stack, expect=3)
    assert len(dispatched) == 3 and all(isinstance(e, ManifestDispatched) for e in dispatched)
    assert {str(e.manifest_id) for e in dispatched} == {m["id"] for m in manifests}
    assert {str(p.returnee_id) for e in dispatched for p in e.passengers} == {
        str(r.returnee_id) for r in people
    }
    assert all(e.expected_arrival > e.dispatched_at for e in dispatched)

    for m in manifests:
        officer = bearer(("transport_officer", m["destination_province_code"]))
        for rid in on_board(m):
            body = {"returnee_id": rid, "outcome": "handed_over"}
            r = await transport.client.post(f"/manifests/{m['id']}/arrivals", json=body, headers=officer)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"

    handed = await transfer_events(stack, expect=3 + len(people), kind=HandedOver)
    assert sorted(str(e.returnee_id) for e in handed) == sorted(str(r.returnee_id) for r in people)


async def test_more_people_than_seats_fill_vehicles_by_seat_count(transport, feed):
    await add_vehicle(transport.client, 4)
    await add_vehicle(transport.client, 4)
    await feed.released(*(registered(PHNOM_PENH) for _ in range(6)))

    manifests = (await propose(transport.client))["manifests"]

    assert sorted(len(m["passengers"]) for m in manifests) == [2, 4]


async def test_a_household_is_never_split_and_one_too_big_is_reported(transport, feed):
    family, too_big = uuid4(), uuid4()
    singles_before = [registered(PHNOM_PENH) for _ in range(3)]
    household = [registered(PHNOM_PENH, household=family) for _ in range(4)]
    singles_after = [registered(PHNOM_PENH) for _ in range(2)]
    giants = [registered(PHNOM_PENH, household=too_big) for _ in range(7)]
    await add_vehicle(transport.client, 6)
    await add_vehicle(transport.client, 6)
    for group in (singles_before, household, singles_after, giants):
        await feed.released(*group)

    proposed = await propose(transport.client)

    family_ids = {str(r.returnee_id) for r in household}
    holding = [m for m in proposed["manifests"] if on_board(m) & family_ids]
    assert len(holding) == 1 and family_ids <= on_board(holding[0])
    assert len(proposed["manifests"]) == 2
    assert all(len(m["passengers"]) <= 6 for m in proposed["manifests"])
    assert [sorted(h) for h in proposed["households_too_large"]] == [
        sorted(str(r.returnee_id) for r in giants)
    ]
    giant = await transport.client.get(f"/transfers/{giants[0].returnee_id}", headers=ADMIN)
    assert giant.json()["stage"] == "waiting" and giant.json()["manifest_id"] is None
    page = (await transport.client.get("/overview", headers=ADMIN)).json()
    assert [(h["household_id"], h["size"], h["largest_vehicle"]) for h in page["households_too_large"]] == [
        (str(too_big), 7, 6)
    ]


async def test_symptomatic_or_referred_returnees_are_never_on_a_manifest(stack, transport, feed):
    healthy = registered(PHNOM_PENH)
    sick_in_quarantine = registered(PHNOM_PENH)
    referred_at_home = registered(PHNOM_PENH, policy="home")
    fever_at_checkpoint = registered(PHNOM_PENH, policy="home", symptoms=("cough",))
    falls_ill_late = registered(PHNOM_PENH)
    await add_vehicle(transport.client, 12)
    await feed.publish(healthy, sick_in_quarantine, referred_at_home, fever_at_checkpoint, falls_ill_late)
    await feed.publish(symptoms(sick_in_quarantine), referred(referred_at_home))
    await feed.publish(completed(healthy), completed(falls_ill_late))

    [manifest] = (await propose(transport.client))["manifests"]
    assert on_board(manifest) == {str(healthy.returnee_id), str(falls_ill_late.returnee_id)}

    # Taken off the proposed manifest when symptoms come before it leaves.
    await feed.publish(symptoms(falls_ill_late))
    dispatched = await confirm_and_dispatch(transport.client, manifest["id"])
    assert on_board(dispatched) == {str(healthy.returnee_id)}
    [event] = await transfer_events(stack, expect=1)
    assert [p.returnee_id for p in event.passengers] == [healthy.returnee_id]
    held = await transport.client.get(f"/transfers/{falls_ill_late.returnee_id}", headers=ADMIN)
    assert held.json() | {"stage": "waiting", "held_reason": "symptoms", "manifest_id": None} == held.json()


async def test_replayed_events_create_no_second_transfer(stack, transport, feed):
    person = registered(PHNOM_PENH)
    done = completed(person)
    await add_vehicle(transport.client, 12)
    await feed.publish(person, event_id="reg-1")
    await feed.publish(person, event_id="reg-1")  # redelivery: skipped by the inbox
    await feed.publish(person, done)  # replay under new ids: the same returnee again
    await feed.publish(done)

    [manifest] = (await propose(transport.client))["manifests"]
    assert len(manifest["passengers"]) == 1
    await confirm_and_dispatch(transport.client, manifest["id"])
    await feed.publish(person, done)  # a replay after departure

    assert (await propose(transport.client))["manifests"] == []
    assert len(await transfer_events(stack, expect=1)) == 1
    transfer = await transport.client.get(f"/transfers/{person.returnee_id}", headers=ADMIN)
    assert transfer.json()["stage"] == "in_transit"


async def test_a_returnee_missing_at_hand_over_raises_an_alert(stack, transport, feed):
    here, gone = registered(PREY_VENG), registered(PREY_VENG)
    await add_vehicle(transport.client, 12)
    await feed.released(here, gone)
    [manifest] = (await propose(transport.client))["manifests"]
    await confirm_and_dispatch(transport.client, manifest["id"])
    officer = bearer(("transport_officer", "14"))
    url = f"/manifests/{manifest['id']}/arrivals"

    for person, outcome in ((here, "handed_over"), (gone, "missing")):
        body = {"returnee_id": str(person.returnee_id), "outcome": outcome}
        assert (await transport.client.post(url, json=body, headers=officer)).status_code == 200

    events = await transfer_events(stack, expect=3)
    [alert] = [e for e in events if isinstance(e, PassengerMissing)]
    assert alert.returnee_id == gone.returnee_id and str(alert.manifest_id) == manifest["id"]
    assert alert.home_village_code == PREY_VENG
    overview = (await transport.client.get("/overview", headers=bearer(("provincial_wg", "14")))).json()
    assert [m["returnee_id"] for m in overview["missing"]] == [str(gone.returnee_id)]


async def test_a_correction_of_the_home_village_moves_a_returnee_to_another_manifest(transport, feed):
    person = registered(PHNOM_PENH, policy="home")
    await add_vehicle(transport.client, 4)
    await add_vehicle(transport.client, 4)
    await feed.released(person)
    [first] = (await propose(transport.client))["manifests"]

    await feed.publish(corrected(person, PREY_VENG))

    gone = await transport.client.get(f"/manifests/{first['id']}", headers=ADMIN)
    assert gone.json()["passengers"] == []
    [second] = (await propose(transport.client))["manifests"]
    assert second["destination_province_code"] == "14" and on_board(second) == {str(person.returnee_id)}
    r = await transport.client.post(f"/manifests/{first['id']}/confirm", headers=OFFICER_01)
    assert r.status_code == 409, "an emptied manifest cannot be confirmed"


async def test_a_cleared_referral_travels_once_its_policy_allows(stack, transport, feed):
    at_home = registered(PHNOM_PENH, policy="home")
    at_border = registered(PHNOM_PENH)
    await add_vehicle(transport.client, 12)
    await feed.publish(at_home, at_border, referred(at_home), referred(at_border))
    assert (await propose(transport.client))["manifests"] == []

    await feed.publish(cleared(at_home), cleared(at_border))
    [manifest] = (await propose(transport.client))["manifests"]
    assert on_board(manifest) == {str(at_home.returnee_id)}  # border policy still waits for its 14 days

    await feed.publish(completed(at_border))
    held = await transport.client.get(f"/transfers/{at_border.returnee_id}", headers=ADMIN)
    assert held.json()["held_reason"] is None
