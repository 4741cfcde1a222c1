"""`border-intake import`: paper and spreadsheet registrations, each as one typed at a tablet, once only."""

import csv
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from services.intake.importing import COLUMNS, households, import_households, read_rows
from services.intake.main import run
from services.intake.models import Registration
from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE
from tests.conftest import bearer
from tests.factories import POIPET, PREY_VENG_VILLAGE
from tests.intake.conftest import OFFICER
from tests.waiting import wait_until

GOOD = [  # household, name_km, name_latin, sex, date_of_birth, age, village, temperature, symptoms, consent
    ("H1", "ចាន់ ដារ៉ា", "Chan Dara", "M", "1988-02-01", "", PREY_VENG_VILLAGE, "36.6", "", "yes"),
    ("H1", "ចាន់ សុភា", "Chan Sophea", "F", "", "34", "", "36.8", "", "yes"),
    ("H1", "ចាន់ វិចិត្រ", "Chan Vichet", "M", "", "6", "", "38.2", "fever;cough", "yes"),
    ("", "សុខ ចន្ទា", "Sok Chanda", "F", "", "29", "02010101", "36.5", "", "បាទ"),
    ("", "កែវ ពិសី", "Keo Pisey", "F", "", "41", "14010101", "36.4", "", "1"),
]
BAD = [
    ("", "ម៉ៅ សំណាង", "Mao Samnang", "M", "", "30", "99999999", "36.5", "", "yes"),  # no such village
    ("", "លី ស្រីនាង", "Ly Sreyneang", "F", "", "25", "14010101", "36.5", "", "no"),  # no consent
    ("H2", "ហេង សុខា", "Heng Sokha", "M", "", "50", "14010101", "36.5", "", "yes"),
    ("H2", "ហេង ស្រីពៅ", "Heng Sreypov", "Q", "", "48", "", "36.5", "", "yes"),  # sex: spoils the household
    ("", "ទេព សុវណ្ណ", "Tep Sovann", "M", "", "33", "14010101", "36.5", "", "yes"),  # arrived too long ago
]
FIELDS = ("household", "name_km", "name_latin", "sex", "date_of_birth", "age_years")
FIELDS += ("home_village_code", "temperature_c", "symptoms", "consent")


def _rows(arrived: str) -> list[dict]:
    rows = [dict(zip(FIELDS, r, strict=True)) | {"arrived_at": arrived} for r in GOOD + BAD]
    rows[-1]["arrived_at"] = "2020-03-23T08:00"  # refused by register() itself, amid the batch's writes
    for row in rows[3:5]:  # one ID card on two rows of the file: the second is flagged, never merged
        row |= {"id_doc_type": "national_id", "id_doc_number": "N010203040"}
    return rows


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # with a BOM, as Excel saves it
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_xlsx(path: Path, rows: list[dict]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append([c.upper() for c in COLUMNS])  # headers as people type them
    for row in rows:
        sheet.append([row.get(c) or None for c in COLUMNS])
    book.save(path)
    return path


async def test_importing_a_file_twice_registers_each_person_and_emits_each_event_once(stack, tmp_path):
    intake = await stack.start("intake")
    deps = intake.runtime.deps
    arrived = (deps.clock.now() - timedelta(days=2)).astimezone().strftime("%Y-%m-%d %H:%M")
    source = _write_csv(tmp_path / "poipet.csv", _rows(arrived))

    first = await import_households(deps, households(read_rows(source)), checkpoint_id=POIPET, officer="dara")
    assert (first.created, first.already) == (5, 0)
    reasons = {tuple(lines): reason for lines, reason in first.rejected}
    assert set(reasons) == {(7,), (8,), (9, 10), (11,)}  # file lines, the header being line 1
    assert "home_village_code" in reasons[(7,)]
    assert "consent" in reasons[(8,)]
    assert "members.0.sex" in reasons[(9, 10)]
    assert "arrived_at" in reasons[(11,)]

    again = await import_households(deps, households(read_rows(source)), checkpoint_id=POIPET, officer="dara")
    assert (again.created, again.already, len(again.rejected)) == (0, 5, 4)

    async with intake.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Registration)) == 5
        stored = {r.name_latin: r for r in await session.scalars(select(Registration))}
    household = {stored[n].household_id for n in ("Chan Dara", "Chan Sophea", "Chan Vichet")}
    assert len(household) == 1 and None not in household
    assert stored["Chan Sophea"].home_village_code == PREY_VENG_VILLAGE  # a member takes the head's
    assert stored["Sok Chanda"].possible_duplicates == []
    assert [d["reason"] for d in stored["Keo Pisey"].possible_duplicates] == ["same_id_document"]
    assert abs(stored["Chan Dara"].arrived_at - (deps.clock.now() - timedelta(days=2))) < timedelta(hours=8)

    events = await stack.events(RETURNEE, expect=5, settle=2.0)
    registered = [e for _, e in events if isinstance(e, ReturneeRegistered)]
    assert sorted(e.name_latin for e in registered) == sorted(r[2] for r in GOOD)
    assert {e.checkpoint_id for e in registered} == {POIPET}
    fever = next(e for e in registered if e.name_latin == "Chan Vichet")
    assert fever.screening.temperature_c == 38.2
    assert sorted(map(str, fever.screening.symptoms)) == ["cough", "fever"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "intake.db"
    monkeypatch.setenv("INTAKE_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def test_the_command_reads_xlsx_checks_in_a_dry_run_and_reports_rejects(database: Path, tmp_path: Path):
    from datetime import datetime

    arrived = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    source = _write_xlsx(tmp_path / "list.xlsx", _rows(arrived))
    rejects = tmp_path / "rejects.csv"
    runner = CliRunner()
    args = ["import", str(source), "--checkpoint", POIPET, "--officer", "dara"]

    dry = runner.invoke(run, [*args, "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert "nothing registered" in dry.output
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM registration").fetchone() == (0,)

    result = runner.invoke(run, [*args, "--rejects", str(rejects)])
    assert result.exit_code == 1, result.output
    assert "5 people registered, 0 already registered, 4 households rejected" in result.output
    with rejects.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["lines"] for r in rows] == ["7", "8", "9 10", "11"]
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM registration").fetchone() == (5,)
        # The events wait in the outbox for the running service's relay.
        assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] >= 5
        officers = {o for (o,) in db.execute("SELECT DISTINCT officer FROM registration")}
    assert officers == {"import:dara"}

    unknown = runner.invoke(run, ["import", str(source), "--checkpoint", "KH-XX-99", "--officer", "dara"])
    assert unknown.exit_code == 2 and "unknown checkpoint" in unknown.output


async def test_an_upload_imports_in_the_background_and_shows_its_progress(stack, tmp_path):
    intake = await stack.start("intake")
    client = intake.client
    arrived = (intake.runtime.deps.clock.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    content = _write_xlsx(tmp_path / "list.xlsx", _rows(arrived)).read_bytes()

    async def upload(headers=OFFICER, name="list.xlsx", data=content):
        files = {"file": (name, data)}
        return await client.post("/imports", data={"checkpoint_id": POIPET}, files=files, headers=headers)

    async def finished(job_id: str) -> dict:
        async def done():
            job = (await client.get(f"/imports/{job_id}", headers=OFFICER)).json()
            return job if job["state"] != "running" else None

        return await wait_until(done, timeout=30, what="the import finished")

    r = await upload()
    assert r.status_code == 202, r.text
    job = await finished(r.json()["id"])
    assert (job["state"], job["created"], job["already"]) == ("done", 5, 0)
    assert [j["lines"] for j in job["rejected"]] == [[7], [8], [9, 10], [11]]
    again = await finished((await upload()).json()["id"])
    assert (again["state"], again["created"], again["already"]) == ("done", 0, 5)

    broken = await finished((await upload(data=b"\x00 not a workbook")).json()["id"])
    assert broken["state"] == "failed" and "not a readable file" in broken["error"]
    other = bearer(("checkpoint_officer", "KH-TH-13"))
    assert (await upload(headers=other)).status_code == 403
    assert (await client.get(f"/imports/{job['id']}", headers=other)).status_code == 404
    page = await client.get("/returnees", params={"checkpoint_id": POIPET}, headers=OFFICER)
    assert page.json()["total"] == 5
