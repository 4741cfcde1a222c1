"""An outbox row the broker always refuses is parked after a few attempts: the rows after it are published,
the parked one stays (counted, listed without its content) until an operator releases it."""

from uuid import uuid4

from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update

from shared.messaging.outbox import PARKED, OutboxRelay, enqueue, outbox, parked, release
from tests.conftest import read_topic
from tests.integration.conftest import ProbeHappened, write_thing
from tests.operations.metrics_helpers import scrape, value
from tests.quarantine.helpers import registered


async def write_huge(sessions, topic: str) -> None:
    """An event over the producer's 1 MiB request size."""
    async with sessions.begin() as session:
        await enqueue(
            session, ProbeHappened(returnee_id=uuid4(), label="x" * 1_100_000), source="/t", topic=topic
        )


async def test_refused_rows_are_parked_and_the_rest_published(db, topic, infra):
    await write_thing(db, topic, "before")
    await write_huge(db, topic)
    await write_thing(db, topic + ".missing", "nowhere")  # a topic the broker does not have
    after = [await write_thing(db, topic, f"after-{i}") for i in range(3)]
    # A short metadata wait: the unknown topic is refused in a second, not in the 15 s of make_producer.
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka, enable_idempotence=True, request_timeout_ms=1000
    )
    await producer.start()
    try:
        relay = OutboxRelay(db, producer, max_attempts=3)
        assert await relay.publish_batch() == 4  # the good rows at once; the two refused ones once each
        assert len(await parked(db)) == 0
        assert (await relay.backlog())[0] == 2
        await relay.publish_batch()
        assert await relay.publish_batch() == 2  # the third refusal parks them
        assert (await relay.backlog())[0] == 0 and await relay.publish_batch() == 0

        records = await read_topic(infra.kafka, topic, expect=4)
        assert len(records) == 4 and {str(a).encode() for a in after} < {r.key for r in records}

        rows = await parked(db)
        assert [r.topic for r in rows] == [topic, topic + ".missing"]
        assert rows[0].size > 1_000_000 and rows[0].type.endswith("probe_happened.v1")
        assert not hasattr(rows[0], "value")  # the listing holds no event content
        assert await relay.parked_count() == 2
        await relay.purge_sent()
        assert len(await parked(db)) == 2  # never purged: nothing vanishes

        # Released, a row is relayed again (and here refused again, three times, and parked again).
        assert await release(db, [rows[1].id]) == 1
        assert (await relay.backlog())[0] == 1
        async with db() as session:
            published = (
                await session.execute(select(outbox.c.published_at).where(outbox.c.id == rows[1].id))
            ).scalar()
        assert published is None
    finally:
        await producer.stop()


async def test_parked_rows_show_on_the_services_metrics(stack):
    quarantine = await stack.start("quarantine")
    rt = quarantine.runtime
    assert value(await scrape(quarantine), "border_outbox_parked", service="quarantine") == 0
    async with rt.sessions.begin() as session:
        await enqueue(session, registered(), source="/test")
        await session.execute(update(outbox).values(published_at=PARKED))
    assert value(await scrape(quarantine), "border_outbox_parked", service="quarantine") == 1
    assert value(await scrape(quarantine), "border_outbox_backlog", service="quarantine") == 0
