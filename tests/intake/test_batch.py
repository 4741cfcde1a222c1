"""POST /returnees/batch: a tablet's queue in one request, each registration answered as if sent alone."""

import uuid

from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE
from tests import factories
from tests.intake.conftest import OFFICER


async def test_each_registration_of_a_batch_gets_its_own_answer_and_idempotency(stack):
    intake = await stack.start("intake")
    client = intake.client
    earlier = factories.registration()
    assert (await client.post("/returnees", json=earlier, headers=OFFICER)).status_code == 201

    new = factories.registration()
    family = factories.registration(members=[factories.person() | {"id": str(uuid.uuid4())}])
    refused = factories.registration(home_village_code="99999999")  # the schema refuses it
    too_old = factories.registration(arrived_at="2020-03-23T08:00:00+07:00")  # a rule refuses it
    elsewhere = factories.registration(checkpoint_id="KH-TH-13")  # not this officer's checkpoint
    taken = factories.registration(id=family["members"][0]["id"])  # a member's id, reused
    batch = [new, earlier, family, refused, too_old, elsewhere, taken, new]
    r = await client.post("/returnees/batch", json={"registrations": batch}, headers=OFFICER)
    assert r.status_code == 200, r.text
    answers = r.json()
    assert [a["status"] for a in answers] == [201, 200, 201, 422, 422, 403, 409, 200]
    assert [a["id"] for a in answers] == [b["id"] for b in batch]
    assert answers[2]["registration"]["members"][0]["id"] == family["members"][0]["id"]
    assert answers[3]["detail"][0]["loc"][:2] == ["body", "home_village_code"]
    assert answers[4]["detail"][0]["loc"] == ["body", "arrived_at"]
    assert "checkpoint" in answers[5]["detail"]
    assert answers[7]["registration"]["id"] == new["id"]  # the same one twice: registered once

    # The whole batch again, as a tablet whose answer was lost: nothing new.
    again = (await client.post("/returnees/batch", json={"registrations": batch}, headers=OFFICER)).json()
    assert [a["status"] for a in again] == [200, 200, 200, 422, 422, 403, 409, 200]

    events = await stack.events(RETURNEE, expect=4, settle=1.5)
    registered = [(envelope, e) for envelope, e in events if isinstance(e, ReturneeRegistered)]
    assert len(registered) == 4  # earlier, new, and the family of two
    # Each household's events carry its own id as correlation, as when the tablet sent it alone.
    batched = {str(e.returnee_id): envelope.correlation_id for envelope, e in registered}
    assert batched[new["id"]] == new["id"]
    assert batched[family["members"][0]["id"]] == family["id"]


async def test_a_batch_is_bounded_and_needs_an_officer(stack):
    intake = await stack.start("intake")
    many = [factories.registration() for _ in range(51)]
    r = await intake.client.post("/returnees/batch", json={"registrations": many}, headers=OFFICER)
    assert r.status_code == 422
    assert (
        await intake.client.post("/returnees/batch", json={"registrations": []}, headers=OFFICER)
    ).status_code == 422
    r = await intake.client.post("/returnees/batch", json={"registrations": many[:1]})
    assert r.status_code == 401
    page = await intake.client.get("/returnees", headers=OFFICER)
    assert page.json()["total"] == 0
