"""Expected arrivals: a Thai list uploaded whole or not at all, confirmed at the checkpoint, reconciled."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from openpyxl import Workbook

from services.intake.domain import cambodia_day
from tests import factories
from tests.conftest import bearer
from tests.factories import POIPET
from tests.intake.conftest import OFFICER

# As a Thai province's office sends it: its own column names, Latin names, Thai words for sex.
HEADERS = ["No.", "Name", "Sex", "Age", "Passport", "From", "Bus"]
PEOPLE = [
    [1, "Sok Dara", "ชาย", 34, "N0000001", "Chonburi", "Bus 1"],
    [2, "Chan Sophea", "หญิง", 29, "N0000002", "Chonburi", "Bus 1"],
    [3, "Keo Vanna", "M", 41, "", "Rayong", "Bus 2"],
    [4, "Mao Sreypov", "F", "", "", "Rayong", "Bus 2"],
]
MAPPING = json.dumps(
    {
        "name_latin": "Name",
        "sex": "Sex",
        "age_years": "Age",
        "id_doc_number": "Passport",
        "origin": "From",
        "group": "Bus",
    }
)


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _upload(client, content: bytes, *, day, mapping=MAPPING, headers=OFFICER, name="chonburi.xlsx"):
    data = {"checkpoint_id": POIPET, "expected_on": day.isoformat(), "source": "Chonburi labour office"}
    if mapping:
        data["mapping"] = mapping
    return await client.post("/expected-lists", data=data, files={"file": (name, content)}, headers=headers)


async def test_a_list_is_confirmed_at_the_checkpoint_and_reconciled(stack):
    intake = await stack.start("intake")
    client = intake.client
    now = intake.runtime.deps.clock.now()
    day = cambodia_day(now)

    # A list with bad rows is refused whole, every bad row named by its line in the file.
    bad = _xlsx([*PEOPLE, [5, "", "F", 30, "", "", ""], [6, "Ly Nary", "F", "old", "", "", ""]])
    r = await _upload(client, bad, day=day)
    assert r.status_code == 422, r.text
    lines = sorted({d["loc"][2] for d in r.json()["detail"]})
    assert lines == [6, 7]
    assert any(d["loc"][3:] == ["age_years"] for d in r.json()["detail"])
    assert (
        await client.get("/expected", params={"checkpoint_id": POIPET, "day": str(day)}, headers=OFFICER)
    ).json() == []

    r = await _upload(client, _xlsx(PEOPLE), day=day)
    assert r.status_code == 201, r.text
    listed = r.json()
    assert listed["people"] == 4
    # The source's columns are remembered: its next list needs no mapping.
    r = await _upload(client, _xlsx(PEOPLE[:1]), day=day + timedelta(days=1), mapping=None, name="next.xlsx")
    assert r.status_code == 201 and r.json()["people"] == 1, r.text

    waiting = (
        await client.get("/expected", params={"checkpoint_id": POIPET, "day": str(day)}, headers=OFFICER)
    ).json()
    assert [(p["line"], p["name_latin"], p["sex"], p["group_label"]) for p in waiting] == [
        (2, "Sok Dara", "M", "Bus 1"),
        (3, "Chan Sophea", "F", "Bus 1"),
        (4, "Keo Vanna", "M", "Bus 2"),
        (5, "Mao Sreypov", "F", "Bus 2"),
    ]

    # The officer confirms three of them, the form filled from the list; one walks in on no list.
    arrived = (now - timedelta(minutes=5)).isoformat()
    confirmed = [
        factories.registration(name_latin=p["name_latin"], expected_id=p["id"], arrived_at=arrived)
        for p in waiting[:3]
    ]
    walk_in = factories.registration(arrived_at=arrived)
    twice = factories.registration(expected_id=waiting[0]["id"], arrived_at=arrived)  # the same person again
    batch = {"registrations": [*confirmed, walk_in, twice]}
    answers = (await client.post("/returnees/batch", json=batch, headers=OFFICER)).json()
    assert [a["status"] for a in answers] == [201, 201, 201, 201, 422], answers
    assert answers[4]["detail"][0]["loc"] == ["body", "expected_id"]

    waiting = (
        await client.get("/expected", params={"checkpoint_id": POIPET, "day": str(day)}, headers=OFFICER)
    ).json()
    assert [p["name_latin"] for p in waiting] == ["Mao Sreypov"]
    everyone = await client.get(
        "/expected", params={"checkpoint_id": POIPET, "day": str(day), "waiting": "false"}, headers=OFFICER
    )
    assert {p["returnee_id"] for p in everyone.json()} == {c["id"] for c in confirmed} | {None}

    r = await client.get(f"/expected-lists/{listed['id']}/reconciliation", headers=OFFICER)
    assert r.json() == {"expected": 4, "arrived": 3, "not_yet": 1, "arrived_not_expected": None}
    r = await client.get(
        "/reconciliation", params={"checkpoint_id": POIPET, "day": str(day)}, headers=OFFICER
    )
    assert r.json() == {"expected": 4, "arrived": 3, "not_yet": 1, "arrived_not_expected": 1}

    # The day's sheet for the Thai counterpart: both languages, the names as the list gave them, a BOM.
    r = await client.get(
        "/reconciliation.csv", params={"checkpoint_id": POIPET, "day": str(day)}, headers=OFFICER
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    sheet = list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"))))
    counts = {row[0]: row[1] for row in sheet[1:5]}
    assert counts == {
        "ចំនួនក្នុងបញ្ជី / Expected": "4",
        "បានមកដល់ / Arrived": "3",
        "មិនទាន់មកដល់ / Not yet arrived": "1",
        "មកដល់ដោយគ្មានក្នុងបញ្ជី / Arrived, on no list": "1",
    }
    people = {row[1]: row[7] for row in sheet[7:]}
    assert people["Mao Sreypov"] == "មិនទាន់មកដល់ / Not yet arrived"
    assert people["Sok Dara"] == "បានមកដល់ / Arrived"
    assert walk_in["name_latin"] not in r.text  # nobody outside the lists is named to the Thai side

    # Another checkpoint's officer neither uploads nor reads Poipet's lists; its province's group reads them.
    other = bearer(("checkpoint_officer", "KH-TH-13"))
    assert (await _upload(client, _xlsx(PEOPLE), day=day, headers=other)).status_code == 403
    params = {"checkpoint_id": POIPET, "day": str(day)}
    assert (await client.get("/expected", params=params, headers=other)).status_code == 403
    assert (
        await client.get(f"/expected-lists/{listed['id']}/reconciliation", headers=other)
    ).status_code == 404
    group = bearer(("provincial_wg", "01"))
    assert (await client.get("/reconciliation", params=params, headers=group)).json()["arrived"] == 3


async def test_what_is_not_a_list_is_refused_and_stores_nothing(stack):
    intake = await stack.start("intake")
    client = intake.client
    day = datetime.now(UTC).date()
    assert (await _upload(client, b"\x00\x01 not a workbook", day=day)).status_code == 422
    assert (await _upload(client, b"\xff\xfe\x00bad", day=day, name="list.csv")).status_code == 422
    assert (await _upload(client, b"Name\n", day=day, name="empty.csv")).status_code == 422
    assert (await _upload(client, _xlsx(PEOPLE), day=day, mapping='{"nickname": "Name"}')).status_code == 422
    r = await client.get(
        "/expected", params={"checkpoint_id": POIPET, "day": str(day), "waiting": "false"}, headers=OFFICER
    )
    assert r.json() == []


async def test_a_person_confirmed_meanwhile_at_another_tablet_is_not_confirmed_twice(stack, monkeypatch):
    from services.intake import handlers

    intake = await stack.start("intake")
    client = intake.client
    now = intake.runtime.deps.clock.now()
    day = cambodia_day(now)
    assert (await _upload(client, _xlsx(PEOPLE[:1]), day=day)).status_code == 201
    [person] = (await client.get("/expected", params={"day": str(day)}, headers=OFFICER)).json()
    arrived = (now - timedelta(minutes=5)).isoformat()
    first = factories.registration(expected_id=person["id"], arrived_at=arrived)
    assert (await client.post("/returnees", json=first, headers=OFFICER)).status_code == 201

    # The second tablet's check ran before the first one's commit: only the guarded UPDATE stands between.
    async def checked_before(session, new, answers):
        return new

    monkeypatch.setattr(handlers, "_expected_ones", checked_before)
    second = factories.registration(expected_id=person["id"], arrived_at=arrived)
    r = await client.post("/returnees", json=second, headers=OFFICER)
    assert r.status_code == 409 and "expected_id" in r.text
    assert (await client.get(f"/returnees/{second['id']}", headers=OFFICER)).status_code == 404
    [still] = (
        await client.get("/expected", params={"day": str(day), "waiting": "false"}, headers=OFFICER)
    ).json()
    assert still["returnee_id"] == first["id"]
