"""`border-<service> outbox parked` and `outbox release` on a scratch SQLite database."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from services.quarantine.main import run
from shared.db import make_engine, make_sessionmaker
from shared.messaging.outbox import PARKED, enqueue, outbox
from tests.quarantine.helpers import registered


@pytest.fixture
def url(tmp_path: Path, monkeypatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'quarantine.db'}"
    monkeypatch.setenv("QUARANTINE_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    assert CliRunner().invoke(run, ["migrate"]).exit_code == 0
    return url


async def _in_outbox(url: str, events, *, park: bool) -> list[tuple[int, str, object]]:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions.begin() as session:
            for event in events:
                await enqueue(session, event, source="/test")
            if park:
                await session.execute(update(outbox).values(published_at=PARKED))
        async with sessions() as session:
            query = select(outbox.c.id, outbox.c.event_id, outbox.c.published_at).order_by(outbox.c.id)
            return (await session.execute(query)).all()
    finally:
        await engine.dispose()


def test_parked_rows_are_listed_without_content_and_released(url: str):
    events = [registered(), registered()]
    rows = asyncio.run(_in_outbox(url, events, park=True))
    listed = CliRunner().invoke(run, ["outbox", "parked"])
    assert listed.exit_code == 0, listed.output
    for _id, event_id, _ in rows:
        assert event_id in listed.output
    assert "kh.gov.border.returnee.registered.v1" in listed.output
    for event in events:  # the returnee's id is the event's key and in its body: never shown
        assert str(event.returnee_id) not in listed.output

    released = CliRunner().invoke(run, ["outbox", "release", str(rows[0][0])])
    assert released.exit_code == 0 and "1 row" in released.output, released.output
    after = asyncio.run(_in_outbox(url, [], park=False))
    assert [published for _, _, published in after] == [None, PARKED]

    assert CliRunner().invoke(run, ["outbox", "release"]).exit_code != 0  # an id or --all, never silently all
    everything = CliRunner().invoke(run, ["outbox", "release", "--all"])
    assert everything.exit_code == 0 and "1 row" in everything.output, everything.output
    assert "no parked rows" in CliRunner().invoke(run, ["outbox", "parked"]).output
