"""Times come back from the database aware and in UTC, from SQLite (which drops the zone) as well."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from shared.db import UtcDateTime, as_utc, make_engine

PHNOM_PENH = timezone(timedelta(hours=7))


async def test_a_stored_time_comes_back_aware_in_utc(tmp_path):
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    moment = datetime(2026, 12, 5, 9, 30, tzinfo=PHNOM_PENH)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(id=1, at=moment))
            back = (await conn.execute(select(table.c.at))).scalar_one()
            oldest = (
                await conn.execute(select(func.min(table.c.at)))
            ).scalar_one()  # the outbox's backlog age
    finally:
        await engine.dispose()
    assert back == moment and back.tzinfo == UTC and back.hour == 2
    assert oldest == moment and oldest.tzinfo == UTC


def test_a_time_without_a_zone_is_taken_as_utc():
    assert as_utc(datetime(2026, 12, 5, 2, 30)) == datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    assert as_utc(datetime(2026, 12, 5, 9, 30, tzinfo=PHNOM_PENH)).hour == 2
