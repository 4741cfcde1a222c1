"""The intake API on the real broker and PostgreSQL: registration, idempotency, validation, scope."""

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from services.intake.models import Registration
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.topics import RETURNEE
from shared.messaging.outbox import outbox
from tests.conftest import bearer
from tests.factories import POIPET, person, registration
from tests.factories import PREY_VENG_VILLAGE as VILLAGE
from tests.intake.conftest import OFFICER


async def _count(service, table) -> int:
    async with service.runtime.sessions() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_registration_is_published_once_even_when_posted_twice(stack):
    intake = await stack.start("intake")
    body = registration()

    first = await intake.client.post("/returnees", json=body, headers=OFFICER)
    assert first.status_code == 201, first.text
    again = await intake.client.post("/returnees", json=body, headers=OFFICER)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    record = first.json()
    assert record["id"] == body["id"]
    assert record["phone"] == "+85512345678"
    assert record["age_years"] > 18 and record["policy"] == "border" and not record["referred"]
    assert record["possible_duplicates"] == []

    events = await stack.events(RETURNEE, expect=1)
    assert len(events) == 1
    envelope, event = events[0]
    assert isinstance(event, ReturneeRegistered)
    assert envelope.type == "kh.gov.border.returnee.registered.v1"
    assert envelope.source == "/border/intake"
    assert str(event.returnee_id) == body["id"]
    assert event.home_village_code == VILLAGE and event.checkpoint_id == POIPET
    assert event.name_km == "សុខ ចន្ទា" and event.policy == "border"
    raw = (await _raw_records(stack))[0]
    headers = dict(raw.headers)
    assert raw.key == body["id"].encode()
    assert {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_partitionkey"} <= set(headers)
    # Downstream gets what it needs and no more: no ID document, no employer.
    assert body["id_doc_number"].encode() not in raw.value
    assert b"Chonburi" not in raw.value
    assert await _count(intake, Registration) == 1


async def _raw_records(stack):
    from tests.conftest import read_topic

    return await read_topic(stack.infra.kafka, stack.topic(RETURNEE), expect=1, settle=0.2)


def _future(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


INVALID = [
    ("unknown village", {"home_village_code": "99999999"}, ["body", "home_village_code"]),
    ("village not 8 digits", {"home_village_code": "1401"}, ["body", "home_village_code"]),
    ("village as a number", {"home_village_code": 14010101}, ["body", "home_village_code"]),
    (
        "future date of birth",
        {"date_of_birth": str(date.today() + timedelta(days=3))},
        ["body", "date_of_birth"],
    ),
    ("no birth date nor age", {"date_of_birth": None}, ["body", "age_years"]),
    ("bad phone", {"phone": "12ab"}, ["body", "phone"]),
    ("short phone", {"phone": "012 34"}, ["body", "phone"]),
    ("consent refused", {"consent": False}, ["body", "consent"]),
    ("consent missing", {"consent": None}, ["body", "consent"]),
    ("oversize Latin name", {"name_latin": "A" * 101}, ["body", "name_latin"]),
    ("oversize Khmer name", {"name_km": "ក" * 101}, ["body", "name_km"]),
    ("oversize workplace", {"worked_in": "x" * 121}, ["body", "worked_in"]),
    ("Khmer name in Latin", {"name_km": "Sok"}, ["body", "name_km"]),
    ("Latin name in Khmer", {"name_latin": "សុខ"}, ["body", "name_latin"]),
    ("name as a number", {"name_km": 123}, ["body", "name_km"]),
    ("temperature as text", {"screening": {"temperature_c": "hot"}}, ["body", "screening", "temperature_c"]),
    (
        "temperature out of range",
        {"screening": {"temperature_c": 55}},
        ["body", "screening", "temperature_c"],
    ),
    (
        "unknown symptom",
        {"screening": {"temperature_c": 36, "symptoms": ["x"]}},
        ["body", "screening", "symptoms", 0],
    ),
    ("age as text", {"date_of_birth": None, "age_years": "old"}, ["body", "age_years"]),
    ("unknown sex", {"sex": "Q"}, ["body", "sex"]),
    ("unknown document type", {"id_doc_type": "library_card"}, ["body", "id_doc_type"]),
    ("document without number", {"id_doc_number": None}, ["body", "id_doc_number"]),
    ("number without document", {"id_doc_type": "none"}, ["body", "id_doc_number"]),
    ("document number with spaces", {"id_doc_number": "AB 12"}, ["body", "id_doc_number"]),
    ("unknown migration status", {"migration_status": "tourist"}, ["body", "migration_status"]),
    ("unknown care flag", {"special_care": ["vip"]}, ["body", "special_care", 0]),
    ("unknown need", {"needs": ["car"]}, ["body", "needs", 0]),
    ("id not a uuid", {"id": "abc"}, ["body", "id"]),
    ("unknown checkpoint", {"checkpoint_id": "KH-TH-99"}, None),  # not the officer's: 403, tested below
    ("arrival in the future", {"arrived_at": _future()}, ["body", "arrived_at"]),
    ("arrival without time zone", {"arrived_at": "2026-01-01T10:00:00"}, ["body", "arrived_at"]),
    ("unexpected field", {"religion": "x"}, ["body", "religion"]),
    (
        "member with future birth",
        {"members": [person(id=str(uuid.uuid4()), date_of_birth=_future(2)[:10])]},
        ["body", "members", 0, "date_of_birth"],
    ),
    ("member missing names", {"members": [{"id": str(uuid.uuid4())}]}, ["body", "members", 0, "name_km"]),
]


async def test_every_invalid_field_is_a_422_naming_it_and_nothing_is_stored(stack):
    intake = await stack.start("intake")
    for what, change, loc in INVALID:
        if loc is None:
            continue
        response = await intake.client.post("/returnees", json=registration(**change), headers=OFFICER)
        assert response.status_code == 422, (what, response.text)
        locs = [e["loc"] for e in response.json()["detail"]]
        assert loc in locs, (what, locs)
    missing = registration()
    del missing["screening"]
    response = await intake.client.post("/returnees", json=missing, headers=OFFICER)
    assert response.status_code == 422 and ["body", "screening"] in [
        e["loc"] for e in response.json()["detail"]
    ]
    not_json = await intake.client.post(
        "/returnees", content=b"{", headers=OFFICER | {"content-type": "application/json"}
    )
    assert not_json.status_code == 422

    assert await _count(intake, Registration) == 0
    assert await _count(intake, outbox) == 0
    assert await stack.events(RETURNEE, expect=0, timeout=1.5) == []


async def test_household_positive_screening_duplicates_and_reused_ids(stack):
    intake = await stack.start("intake")
    child = person(
        name_km="សុខ ដារា",
        name_latin="Sok Dara",
        date_of_birth=None,
        age_years=4,
        phone=None,
        id_doc_type="none",
        id_doc_number=None,
        migration_status=None,
        id=str(uuid.uuid4()),
    )
    feverish = person(
        name_km="សុខ វិចិត្រ",
        name_latin="Sok Vichet",
        sex="M",
        id=str(uuid.uuid4()),
        screening={"temperature_c": 38.2, "symptoms": ["cough"]},
    )
    head = registration(members=[child, feverish])

    created = await intake.client.post("/returnees", json=head, headers=OFFICER)
    assert created.status_code == 201, created.text
    record = created.json()
    assert [m["id"] for m in record["members"]] == [child["id"], feverish["id"]]
    assert {record["household_id"], *(m["household_id"] for m in record["members"])} == {head["id"]}
    assert record["members"][0]["special_care"] == ["child"]
    assert record["members"][1]["referred"] is True
    resent = await intake.client.post("/returnees", json=head, headers=OFFICER)
    assert resent.status_code == 200 and resent.json() == record

    # The same ID document again, under another registration id: flagged for the officer, not merged.
    again = registration(id_doc_number=head["id_doc_number"], name_latin="Sok Chandra")
    flagged = await intake.client.post("/returnees", json=again, headers=OFFICER)
    assert flagged.status_code == 201, flagged.text
    assert [d["reason"] for d in flagged.json()["possible_duplicates"]] == ["same_id_document"]
    # Same name, birth date and village, no document: flagged too.
    twin = registration(id_doc_type="none", id_doc_number=None)
    assert (await intake.client.post("/returnees", json=twin, headers=OFFICER)).json()["possible_duplicates"][
        0
    ]["reason"] == "same_name_birth_village"

    reused = registration(id=head["id"])
    conflict = await intake.client.post("/returnees", json=reused, headers=OFFICER)
    assert conflict.status_code == 409

    events = await stack.events(RETURNEE, expect=6)
    kinds = [type(e).__name__ for _, e in events]
    assert kinds.count("ReturneeRegistered") == 5 and kinds.count("ReturneeReferred") == 1, kinds
    referral = next(e for _, e in events if isinstance(e, ReturneeReferred))
    assert str(referral.returnee_id) == feverish["id"] and referral.reason == "fever,symptoms"
    household = [e for _, e in events if isinstance(e, ReturneeRegistered) and e.household_id]
    assert len(household) == 3
    assert await _count(intake, Registration) == 5


async def test_scope_of_officers_and_readers(stack):
    intake = await stack.start("intake")
    body = registration()
    assert (await intake.client.post("/returnees", json=body, headers=OFFICER)).status_code == 201
    osmach = bearer(("checkpoint_officer", "KH-TH-13"))

    elsewhere = await intake.client.post(
        "/returnees", json=registration(checkpoint_id=POIPET), headers=osmach
    )
    assert elsewhere.status_code == 403 and "checkpoint_id" in elsewhere.text
    assert (await intake.client.post("/returnees", json=body)).status_code == 401
    staff = bearer(("facility_staff", "F-1"))
    assert (await intake.client.post("/returnees", json=registration(), headers=staff)).status_code == 403
    assert (await intake.client.get("/returnees", headers=staff)).status_code == 403
    reader = bearer(("provincial_wg", "01"))
    assert (await intake.client.post("/returnees", json=registration(), headers=reader)).status_code == 403

    path = f"/returnees/{body['id']}"
    assert (await intake.client.get(path, headers=osmach)).status_code == 404
    assert (await intake.client.get("/returnees", headers=osmach)).json() == {"total": 0, "items": []}
    assert (await intake.client.patch(path, json={"name_latin": "X"}, headers=osmach)).status_code == 404
    for allowed in (
        OFFICER,
        bearer(("provincial_wg", "01")),  # the checkpoint's province
        bearer(("provincial_wg", "14")),  # the home village's province
        bearer(("national_admin", "KH")),
    ):
        assert (await intake.client.get(path, headers=allowed)).status_code == 200
        assert (await intake.client.get("/returnees", headers=allowed)).json()["total"] == 1
    assert (await intake.client.get(path, headers=bearer(("provincial_wg", "22")))).status_code == 404

    found = await intake.client.get("/returnees", params={"q": "chanda"}, headers=OFFICER)
    assert [r["id"] for r in found.json()["items"]] == [body["id"]]
    for typed in ("345678", "012 345 678", "+85512345678"):
        by_phone = await intake.client.get("/returnees", params={"q": typed}, headers=OFFICER)
        assert by_phone.json()["total"] == 1, typed
    assert (await intake.client.get("/returnees", params={"q": "ចន្ទា"}, headers=OFFICER)).json()["total"] == 1
    assert (await intake.client.get("/returnees", params={"q": "nobody"}, headers=OFFICER)).json()[
        "total"
    ] == 0
    assert await _count(intake, Registration) == 1


async def test_correction_publishes_corrected_and_refers_once(stack):
    intake = await stack.start("intake")
    body = registration()
    assert (await intake.client.post("/returnees", json=body, headers=OFFICER)).status_code == 201
    path = f"/returnees/{body['id']}"

    fixed = await intake.client.patch(
        path,
        json={"name_latin": "Sok Chantha", "screening": {"temperature_c": 38.0}, "expected_version": 1},
        headers=OFFICER,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["version"] == 2 and fixed.json()["referred"] is True
    stale = await intake.client.patch(path, json={"name_latin": "Y", "expected_version": 1}, headers=OFFICER)
    assert stale.status_code == 409
    same = await intake.client.patch(path, json={"name_latin": "Sok Chantha"}, headers=OFFICER)
    assert same.status_code == 200 and same.json()["version"] == 2  # nothing changed: no event
    bad = await intake.client.patch(path, json={"home_village_code": "99999999"}, headers=OFFICER)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "home_village_code"]
    erased = await intake.client.patch(path, json={"name_km": None}, headers=OFFICER)
    assert erased.status_code == 422 and erased.json()["detail"][0]["loc"] == ["body", "name_km"]
    missing = await intake.client.patch(f"/returnees/{uuid.uuid4()}", json={"sex": "M"}, headers=OFFICER)
    assert missing.status_code == 404

    events = await stack.events(RETURNEE, expect=3)
    assert [type(e) for _, e in events] == [ReturneeRegistered, ReturneeCorrected, ReturneeReferred]
    assert events[1][1].name_latin == "Sok Chantha"


async def test_statistics_and_checkpoint_policy(stack):
    home_from = date.today() - timedelta(days=1)
    intake = await stack.start(
        "intake", policy_rules=[{"checkpoint_id": "KH-TH-13", "policy": "home", "starts_on": str(home_from)}]
    )
    osmach = bearer(("checkpoint_officer", "KH-TH-13"))
    arrived = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for headers, change in [
        (OFFICER, {"sex": "M"}),
        (OFFICER, {"screening": {"temperature_c": 39.0}}),
        (OFFICER, {"date_of_birth": None, "age_years": 70, "needs": ["medicine", "food"]}),
        (osmach, {"checkpoint_id": "KH-TH-13"}),
    ]:
        response = await intake.client.post(
            "/returnees", json=registration(arrived_at=arrived, **change), headers=headers
        )
        assert response.status_code == 201, response.text
    assert response.json()["policy"] == "home"

    national = bearer(("national_admin", "KH"))
    stats = (await intake.client.get("/stats", headers=national)).json()
    by_checkpoint = {s["checkpoint_id"]: s for s in stats}
    poipet = by_checkpoint[POIPET]
    assert (poipet["total"], poipet["female"], poipet["male"], poipet["referred"]) == (3, 2, 1, 1)
    assert poipet["special_care"] == {"elderly": 1}
    assert poipet["needs"] == {"food": 3, "medicine": 1}
    assert poipet["policy"] == {"border": 3, "home": 0}
    assert by_checkpoint["KH-TH-13"]["policy"] == {"border": 0, "home": 1}
    mine = (await intake.client.get("/stats", headers=OFFICER)).json()
    assert [s["checkpoint_id"] for s in mine] == [POIPET]
    too_long = await intake.client.get("/stats", params={"since": "2020-01-01"}, headers=OFFICER)
    assert too_long.status_code == 422

    events = await stack.events(RETURNEE, expect=5)
    policies = {e.checkpoint_id: e.policy for _, e in events if isinstance(e, ReturneeRegistered)}
    assert policies == {POIPET: "border", "KH-TH-13": "home"}


async def test_gazetteer_search_and_offline_province_file(stack):
    intake = await stack.start("intake")
    hits = await intake.client.get(
        "/gazetteer/search", params={"q": "អង្រ្ក", "province": "14"}, headers=OFFICER
    )
    assert hits.status_code == 200
    assert VILLAGE in [h["code"] for h in hits.json()]
    latin = await intake.client.get("/gazetteer/search", params={"q": "angkrong"}, headers=OFFICER)
    assert any(h["code"] == VILLAGE and "Prey Veng" in h["label_en"] for h in latin.json())
    assert (await intake.client.get("/gazetteer/search", params={"q": "x"})).status_code == 401

    province = await intake.client.get("/gazetteer/provinces/14.json", headers=OFFICER)
    assert province.status_code == 200
    data = province.json()
    assert data["province"][0] == "14" and [VILLAGE, "Angkrong", "អង្រ្កង"] in [
        list(v) for v in data["villages"]
    ]
    cached = await intake.client.get(
        "/gazetteer/provinces/14.json", headers=OFFICER | {"if-none-match": province.headers["etag"]}
    )
    assert cached.status_code == 304
    assert (await intake.client.get("/gazetteer/provinces/99.json", headers=OFFICER)).status_code == 404
    assert province.headers["content-encoding"] == "gzip"  # light on a 3G link
    page = await intake.client.get("/tablet/")
    assert page.status_code == 200 and "app.js" in page.text
    worker = await intake.client.get("/tablet/sw.js")
    assert worker.status_code == 200 and "caches.open" in worker.text
    # Everything the worker keeps for an offline start is served without a token, the words among it.
    shell = json.loads(re.search(r"const SHELL = (\[.*\]);", worker.text).group(1))
    assert {"config.json", "messages.json"} <= set(shell)
    for name in shell:
        assert (await intake.client.get(f"/tablet/{name.removeprefix('./')}")).status_code == 200, name
    words = (await intake.client.get("/tablet/messages.json")).json()
    assert (words["km"]["title"], words["en"]["title"]) == ("ចុះឈ្មោះអ្នកវិលត្រឡប់", "Returnee registration")


async def test_seed_demo_registers_through_the_use_case_and_publishes_everything(stack):
    from services.intake import demo

    intake = await stack.start("intake")
    people = await demo.seed(intake.runtime, count=12, seed=3)
    assert people >= 12
    assert (await intake.runtime.relay.backlog())[0] == 0
    events = await stack.events(RETURNEE, expect=people)
    registered = [e for _, e in events if isinstance(e, ReturneeRegistered)]
    assert len(registered) == people == await _count(intake, Registration)
    assert await demo.seed(intake.runtime, count=12, seed=3) == people  # same seed: new ids, same people


DAUNG = "KH-TH-07"
BATTAMBANG_VILLAGE = "02010101"


async def test_a_duplicate_hint_tells_no_other_checkpoints_record(stack):
    """The same ID document at another checkpoint: the hint says a duplicate may exist, and nothing of it."""
    intake = await stack.start("intake")
    first = registration()
    assert (await intake.client.post("/returnees", json=first, headers=OFFICER)).status_code == 201
    daung = bearer(("checkpoint_officer", DAUNG), subject="officer-daung")
    again = registration(
        checkpoint_id=DAUNG, home_village_code=BATTAMBANG_VILLAGE, id_doc_number=first["id_doc_number"]
    )
    flagged = await intake.client.post("/returnees", json=again, headers=daung)
    assert flagged.status_code == 201, flagged.text
    assert flagged.json()["possible_duplicates"] == [
        {
            "reason": "same_id_document",
            "advice": "a possible duplicate exists; ask the provincial working group",
        }
    ]
    battambang = bearer(("provincial_wg", "02"))
    stored = await intake.client.get(f"/returnees/{again['id']}", headers=battambang)
    assert stored.status_code == 200
    for secret in (first["id"], POIPET):
        assert secret not in stored.text and secret not in flagged.text


async def test_a_registration_id_of_another_checkpoint_answers_as_one_of_ones_own(stack):
    """No existence oracle: an id taken at another checkpoint gets the answer an id of one's own gets."""
    intake = await stack.start("intake")
    mine, theirs = registration(), registration(checkpoint_id=DAUNG, home_village_code=BATTAMBANG_VILLAGE)
    daung = bearer(("checkpoint_officer", DAUNG), subject="officer-daung")
    assert (await intake.client.post("/returnees", json=mine, headers=OFFICER)).status_code == 201
    assert (await intake.client.post("/returnees", json=theirs, headers=daung)).status_code == 201

    own = await intake.client.post("/returnees", json=registration(id=mine["id"]), headers=OFFICER)
    other = await intake.client.post("/returnees", json=registration(id=theirs["id"]), headers=OFFICER)
    as_member = registration(members=[person(id=theirs["id"])])
    member = await intake.client.post("/returnees", json=as_member, headers=OFFICER)
    assert own.status_code == other.status_code == member.status_code == 409
    assert own.content == other.content == member.content
    assert await _count(intake, Registration) == 2


async def test_names_are_stored_nfc_without_invisible_characters(stack):
    """A zero-width space or another code point order cannot make a second person of the same one."""
    intake = await stack.start("intake")
    decomposed = "\u1780\u17dd\u17d2\u1780 ចន្ទា"  # KA ATTHACAN COENG KA: NFC puts COENG first
    first = registration(name_km="សុខ\u200bចន្ទា", id_doc_type="none", id_doc_number=None)
    created = await intake.client.post("/returnees", json=first, headers=OFFICER)
    assert created.status_code == 201, created.text
    assert created.json()["name_km"] == "សុខចន្ទា"
    twin = registration(name_km="សុខចន្ទា", id_doc_type="none", id_doc_number=None)
    assert (await intake.client.post("/returnees", json=twin, headers=OFFICER)).json()["possible_duplicates"]
    found = await intake.client.get("/returnees", params={"q": "សុខ\u200bចន្ទា"}, headers=OFFICER)
    assert found.status_code == 200 and found.json()["total"] == 2

    nfd = await intake.client.post("/returnees", json=registration(name_km=decomposed), headers=OFFICER)
    assert nfd.status_code == 201 and nfd.json()["name_km"] == "\u1780\u17d2\u17dd\u1780 ចន្ទា"

    stored = await _count(intake, Registration)
    for bad in ("សុខ\u202eចន្ទា", "\ufeffសុខ", "សុខ\u2066ចន្ទា\u2069", "សុខ\u00adចន្ទា", "\u17b4"):
        refused = await intake.client.post("/returnees", json=registration(name_km=bad), headers=OFFICER)
        assert refused.status_code == 422 and "name_km" in refused.text, (bad, refused.text)
    worked = await intake.client.post(
        "/returnees", json=registration(worked_in="Rayong\u202e"), headers=OFFICER
    )
    assert worked.status_code == 422 and "worked_in" in worked.text
    fix = await intake.client.patch(
        f"/returnees/{first['id']}", json={"name_km": "ចន្ទា\u200f"}, headers=OFFICER
    )
    assert fix.status_code == 422 and "name_km" in fix.text
    assert await _count(intake, Registration) == stored
