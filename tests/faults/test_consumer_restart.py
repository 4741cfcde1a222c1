"""A consumer whose loop ended is started again by its supervisor and goes on consuming.

Found by the fault test: after PostgreSQL went away, a consumer stopped (as designed, uncommitted) and
every restart by the supervisor failed at once on aiokafka's "Did you call `start` twice?", so that service
never consumed again.
"""

import asyncio

from sqlalchemy import insert

from shared.consumer import EventConsumer, Subscription
from shared.outbox import OutboxRelay
from shared.topics import TopicSpec, dlq, ensure_topics
from tests.conftest import wait_until
from tests.integration.conftest import ProbeHappened, count, seen, write_thing


async def test_a_consumer_runs_again_after_its_loop_ended(infra, db, producer, unique):
    topic = unique("rerun").replace("_", ".")
    await ensure_topics(infra.kafka, [TopicSpec(topic, 1), TopicSpec(dlq(topic), 1)])

    async def handle(session, event: ProbeHappened, _envelope):
        await session.execute(insert(seen).values(id=str(event.returnee_id)))

    consumer = EventConsumer(
        Subscription(unique("group"), {ProbeHappened: handle}, topics=[topic]),
        bootstrap=infra.kafka,
        sessions=db,
        producer=producer,
    )
    relay_task = asyncio.create_task(OutboxRelay(db, producer, poll_seconds=0.2).run())
    runs: list[asyncio.Task] = []

    async def handled(n: int) -> bool:
        if runs[-1].done():
            runs[-1].result()  # a run that died: its error fails the test here
        return await count(db, seen) >= n

    try:
        await write_thing(db, topic, "before")
        runs.append(asyncio.create_task(consumer.run()))
        await wait_until(lambda: handled(1), timeout=30, what="the first run to handle an event")
        runs[-1].cancel()  # the loop ends, as after a crash: run() stops its Kafka client on the way out
        await asyncio.gather(runs[-1], return_exceptions=True)

        runs.append(asyncio.create_task(consumer.run()))  # what the supervisor does next
        await write_thing(db, topic, "after")
        await wait_until(lambda: handled(2), timeout=30, what="the second run to handle the next event")
        assert await count(db, seen) == 2
    finally:
        for task in [*runs, relay_task]:
            task.cancel()
        await asyncio.gather(*runs, relay_task, return_exceptions=True)
