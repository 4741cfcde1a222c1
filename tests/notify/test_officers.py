"""What the officers' screen reads: a contact's change history, the inbound SMS that matched nothing, the
number each SMS went to."""

from tests.conftest import bearer
from tests.notify.conftest import ADMIN, dispatched, phone, registered, villages

WG = bearer(("provincial_wg", "01"), subject="pwg-01")
OTHER_WG = bearer(("provincial_wg", "02"))


async def test_a_contact_keeps_who_changed_what_and_when_even_once_deleted(notify) -> None:
    _, commune = villages()
    first, second = phone(), phone()
    body = {"name": "Chief", "phone": first}
    assert (await notify.client.put(f"/contacts/{commune.code}", json=body, headers=WG)).is_success
    r = await notify.client.put(f"/contacts/{commune.code}", json={**body, "phone": second}, headers=WG)
    assert r.is_success and r.json()["updated_at"] and r.json()["area_en"] == commune.name_en
    # Saving the same again is no change.
    assert (
        await notify.client.put(f"/contacts/{commune.code}", json={**body, "phone": second}, headers=WG)
    ).is_success
    assert (await notify.client.delete(f"/contacts/{commune.code}", headers=WG)).status_code == 204

    r = await notify.client.get(f"/contacts/{commune.code}/history", headers=WG)
    assert r.status_code == 200, r.text
    rows = [(c["field"], c["old"], c["new"]) for c in r.json()]  # newest first
    assert rows == [
        ("deleted", second, None),
        ("phone", first, second),
        ("name", None, "Chief"),
        ("language", None, "km"),
        ("phone", None, first),
    ]
    assert {c["by"] for c in r.json()} == {"pwg-01"}
    # Another province's group, a chief, a place never given a contact: nothing to see.
    assert (await notify.client.get(f"/contacts/{commune.code}/history", headers=OTHER_WG)).status_code == 404
    chief = bearer(("commune_chief", commune.code))
    assert (await notify.client.get(f"/contacts/{commune.code}/history", headers=chief)).status_code == 403
    never = commune.code[:4]  # its district: a real place that never had a contact
    assert (await notify.client.get(f"/contacts/{never}/history", headers=WG)).status_code == 404


async def test_unmatched_sms_are_kept_with_their_text_for_the_officers_of_the_place(notify) -> None:
    village, commune = villages()
    chief = phone()
    await notify.contact(commune.code, phone_number=chief)
    person = registered(village.code)
    await notify.publish(person, dispatched(person))
    code = (await notify.followup(person.returnee_id)).code
    stranger = phone()

    await notify.inbound(stranger, "hello, who is this?")  # unparsed, from a number of no place
    await notify.inbound(stranger, f"VISIT {code}")  # a real code from the wrong number: the code's commune
    await notify.inbound(chief, "I got a new phone")  # unparsed, from the chief: the chief's commune
    await notify.inbound(chief, f"VISIT {code}")  # matched: not the officers' to read

    def mine(rows):
        return [
            (r["sender"], r["text"], r["outcome"], r["area_code"])
            for r in rows
            if r["sender"] in (chief, stranger)
        ]

    r = await notify.client.get("/inbound", headers=WG)
    assert r.status_code == 200, r.text
    assert mine(r.json()) == [
        (chief, "I got a new phone", "unparsed", commune.code),
        (stranger, f"VISIT {code}", "wrong_sender", commune.code),
    ]
    district = bearer(("district_officer", commune.code[:4]))
    assert len(mine((await notify.client.get("/inbound", headers=district)).json())) == 2
    assert mine((await notify.client.get("/inbound", headers=OTHER_WG)).json()) == []
    # Only the national administrator sees what no place owns.
    everything = mine((await notify.client.get("/inbound?limit=1000", headers=ADMIN)).json())
    assert (stranger, "hello, who is this?", "unparsed", None) in everything and len(everything) == 3
    chief_token = bearer(("commune_chief", commune.code))
    assert (await notify.client.get("/inbound", headers=chief_token)).status_code == 403
    assert (await notify.client.get("/inbound?limit=0", headers=WG)).status_code == 422


async def test_each_sms_records_the_number_it_went_to(notify, kannel) -> None:
    village, commune = villages(3)
    old, new = phone(), phone()
    await notify.contact(commune.code, phone_number=old)
    a = registered(village.code)
    await notify.publish(a, dispatched(a))
    await notify.wait_state("delivered", returnee_id=a.returnee_id, channel="sms", timeout=60)
    await notify.contact(commune.code, phone_number=new)
    b = registered(village.code)
    await notify.publish(b, dispatched(b))
    await notify.wait_state("delivered", returnee_id=b.returnee_id, channel="sms", timeout=60)

    for person, number in ((a, old), (b, new)):
        r = await notify.client.get(f"/deliveries?returnee_id={person.returnee_id}", headers=WG)
        assert r.status_code == 200, r.text
        [sms] = [d for d in r.json() if d["channel"] == "sms"]
        assert sms["sent_to"] == number and sms["area_km"] == commune.name_km
