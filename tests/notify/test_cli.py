"""`border-notify import-contacts` and `seed-demo` on a scratch SQLite database."""

import csv
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.notify.main import run
from shared.geo.gazetteer import load_gazetteer

ROWS = [
    ("area_code", "name", "phone", "language", "webhook_url"),
    ("010201", "Chief Banteay Neang", "012 345 678", "km", ""),
    ("0102", "Mongkol Borey district", "+85512000111", "en", "https://hooks.example.org/notify"),
    ("01", "Banteay Meanchey WG", "097000222", "", ""),
    ("999999", "Nowhere", "012345678", "km", ""),
    ("010202", "Bad phone", "call me", "km", ""),
    ("010203", "Bad language", "012345678", "fr", ""),
    ("010204", "Private hook", "012345678", "km", "http://127.0.0.1:9/hook"),
]


@pytest.fixture
def database(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "notify.db"
    monkeypatch.setenv("NOTIFY_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.delenv("NOTIFY_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    return path


def test_import_saves_good_rows_and_reports_the_others(database: Path, tmp_path: Path, monkeypatch) -> None:
    # The example.org host must resolve to a public address without the network: pretend it does.
    import services.notify.gateways as gateways

    async def fake_resolve(host: str) -> list[str]:
        return ["93.184.215.14"] if host == "hooks.example.org" else ["127.0.0.1"]

    monkeypatch.setattr(gateways, "_resolve", fake_resolve)
    source, rejects = tmp_path / "contacts.csv", tmp_path / "rejects.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(ROWS)
    result = CliRunner().invoke(run, ["import-contacts", str(source), "--rejects", str(rejects)])
    assert result.exit_code == 1, result.output
    assert "3 contacts saved, 4 rows rejected" in result.output
    with rejects.open(encoding="utf-8") as f:
        reasons = {row["area_code"]: row["reason"] for row in csv.DictReader(f)}
    assert set(reasons) == {"999999", "010202", "010203", "010204"}
    assert "area_code" in reasons["999999"]
    assert "phone" in reasons["010202"]
    assert "language" in reasons["010203"]
    assert "webhook_url" in reasons["010204"]
    with sqlite3.connect(database) as db:
        saved = db.execute(
            "SELECT area_code, level, phone, language, webhook_secret FROM contact ORDER BY 1"
        ).fetchall()
    assert [row[:4] for row in saved] == [
        ("01", "province", "85597000222", "km"),
        ("0102", "district", "85512000111", "en"),
        ("010201", "commune", "85512345678", "km"),
    ]
    assert saved[1][4].startswith("whsec_")  # the district's webhook got its own secret


def test_seed_demo_gives_every_commune_a_chief_once(database: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(run, ["seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(run, ["seed-demo"])
    assert "0 demo contacts added" in second.output
    gaz = load_gazetteer()
    communes = sum(len(gaz.communes_of(d.code)) for p in gaz.provinces() for d in gaz.districts_of(p.code))
    with sqlite3.connect(database) as db:
        counts = dict(db.execute("SELECT level, count(*) FROM contact GROUP BY level").fetchall())
        phones = [p for (p,) in db.execute("SELECT phone FROM contact WHERE level = 'commune'")]
    assert counts == {"commune": communes, "district": 210, "province": 25}
    assert all(p.startswith("8551200") for p in phones) and len(set(phones)) == communes
