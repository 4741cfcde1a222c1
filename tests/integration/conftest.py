"""Fixtures of the backbone tests: a probe table and event, a database holding them, a producer."""

import contextlib
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared.contracts import Event
from shared.db import make_engine, make_sessionmaker
from shared.messaging.outbox import add_messaging_tables, enqueue
from shared.web.service import make_producer

metadata = MetaData()
thing = Table("thing", metadata, Column("id", String(36), primary_key=True), Column("name", String(50)))
seen = Table(
    "seen", metadata, Column("n", Integer, primary_key=True, autoincrement=True), Column("id", String(36))
)
add_messaging_tables(metadata)


class ProbeHappened(Event):
    type = "kh.gov.border.test.probe_happened.v1"
    topic = "unused"  # tests route to their own topic

    returnee_id: UUID
    label: str


@pytest.fixture
async def db(database):
    engine = make_engine(database)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def producer(infra):
    p = make_producer(infra.kafka)
    await p.start()
    yield p
    await p.stop()


async def write_thing(sessions, topic: str, label: str, *, fail: bool = False) -> UUID:
    """A use case: change state and enqueue its event in one transaction."""
    rid = uuid4()
    with pytest.raises(RuntimeError) if fail else contextlib.nullcontext():
        async with sessions.begin() as session:
            await session.execute(insert(thing).values(id=str(rid), name=label))
            await enqueue(session, ProbeHappened(returnee_id=rid, label=label), source="/test", topic=topic)
            if fail:
                raise RuntimeError("use case failed after writing")
    return rid


async def count(sessions, table) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar_one()
