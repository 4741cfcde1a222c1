"""Two quarantine instances share one consumer group; one is killed mid-stream and the other takes over.

Instance B runs in this test's event loop; instance A is the real `border-quarantine serve` in a child
process, so killing it (SIGKILL) is a real crash: no offset commit, no leaving the group. The broker notices
after the session timeout and gives A's partitions to B, which gets A's uncommitted records again. The inbox
skips what A had already done, so every returnee ends with one episode, one bed and one QuarantineStarted.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.contracts.quarantine import QuarantineStarted
from shared.contracts.topics import EPISODE, RETURNEE, dlq
from tests.conftest import read_topic
from tests.operations.metrics_helpers import samples, scrape
from tests.quarantine.helpers import add_facility, publish, registered
from tests.waiting import wait_until
from tests.web import free_port

# The broker's smallest session timeout (group.min.session.timeout.ms): a dead instance is noticed fast.
SESSION = {"consumer_session_timeout_ms": 6000, "consumer_heartbeat_interval_ms": 1000}
FIRST, SECOND = 60, 240


def start_instance(stack, database_url: str, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "QUARANTINE_DATABASE_URL": database_url,
        "QUARANTINE_HTTP_PORT": str(port),
        "QUARANTINE_CONSUMER_SESSION_TIMEOUT_MS": str(SESSION["consumer_session_timeout_ms"]),
        "QUARANTINE_CONSUMER_HEARTBEAT_INTERVAL_MS": str(SESSION["consumer_heartbeat_interval_ms"]),
        "KAFKA_BOOTSTRAP_SERVERS": stack.infra.kafka,
        "TOPIC_PREFIX": stack.prefix,
        "BORDER_ENV": "test",
        "LOG_LEVEL": "WARNING",
    }
    binary = Path(sys.executable).parent / "border-quarantine"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(binary), "serve"], env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT
        )


async def uncommitted(stack, group: str, topic: str) -> dict[str, int]:
    """Records on each partition past the group's committed offset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.infra.kafka)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.kafka)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        tps = [TopicPartition(topic, p) for p in range(6)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    behind = {}
    for tp in tps:
        done = committed[tp].offset if tp in committed else 0
        if ends[tp] > done:
            behind[str(tp.partition)] = ends[tp] - done
    return behind


def partitions(metrics_text: str, group: str, topic: str) -> set[str]:
    """The partitions an instance holds: it reports a lag gauge for each, and drops it when revoked."""
    return {
        s.labels["partition"]
        for s in samples(metrics_text, "border_consumer_lag", consumer=group, topic=topic)
    }


async def test_a_killed_instance_hands_its_partitions_over(stack, tmp_path):
    b = await stack.start("quarantine", scheduler_seconds=3600, **SESSION)
    await add_facility(b, "scale-out-site", capacity=1000)
    port = free_port()
    a = start_instance(stack, b.database_url, port, tmp_path / "instance-a.log")
    group, topic = stack.prefix + "quarantine", stack.topic(RETURNEE)
    engine = create_async_engine(b.database_url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as a_http:

            async def a_metrics() -> str | None:
                try:
                    return (await a_http.get("/metrics")).text
                except httpx.TransportError:
                    return None

            async def split():
                a_text = await a_metrics()
                if a_text is None:
                    return False
                held_a, held_b = partitions(a_text, group, topic), partitions(await scrape(b), group, topic)
                return (
                    held_a
                    and held_b
                    and held_a | held_b == {str(p) for p in range(6)}
                    and not held_a & held_b
                )

            await wait_until(
                split, timeout=60, interval=0.5, what="the two instances to share the six partitions"
            )
            held_by_a = partitions(await a_metrics(), group, topic)

            async def count(sql: str) -> int:
                async with engine.connect() as conn:
                    return (await conn.execute(text(sql))).scalar_one()

            async def episodes(n: int):
                return await count("SELECT count(*) FROM episode") >= n

            events = [registered() for _ in range(FIRST + SECOND)]
            await publish(stack, *events[:FIRST])
            await wait_until(
                lambda: episodes(FIRST), timeout=30, what="both instances to handle the first events"
            )
            assert await count("SELECT count(*) FROM processed_event") == FIRST

            await publish(stack, *events[FIRST:])
            await wait_until(lambda: episodes(FIRST + 20), timeout=30, what="the second wave to be under way")
            a.send_signal(signal.SIGKILL)
            await asyncio.to_thread(a.wait, 10)
            behind = await uncommitted(stack, group, topic)
            assert behind.keys() & held_by_a, f"A had finished its partitions before the kill: {behind}"

        async def taken_over():
            return partitions(await scrape(b), group, topic) == {str(p) for p in range(6)}

        await wait_until(
            taken_over, timeout=60, interval=0.5, what=f"B to take A's partitions {sorted(held_by_a)}"
        )
        await wait_until(
            lambda: episodes(FIRST + SECOND), timeout=60, what="every returnee to have an episode"
        )

        # Nothing lost, nothing done twice: one episode, one bed and one inbox row per returnee.
        total = FIRST + SECOND
        assert await count("SELECT count(*) FROM episode") == total
        assert await count("SELECT count(DISTINCT returnee_id) FROM episode") == total
        assert await count("SELECT occupancy FROM facility WHERE id = 'scale-out-site'") == total
        assert await count("SELECT count(*) FROM processed_event") == total
        assert await count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        # On the topic, one QuarantineStarted id per returnee; a copy re-sent by the relay keeps its id.
        published = await stack.events(EPISODE, expect=total, timeout=30)
        started = {
            (env.id, event.returnee_id) for env, event in published if isinstance(event, QuarantineStarted)
        }
        per_returnee = Counter(returnee for _, returnee in started)
        assert set(per_returnee) == {e.returnee_id for e in events}
        assert set(per_returnee.values()) == {1}
        assert await read_topic(stack.infra.kafka, stack.topic(dlq(RETURNEE)), expect=0, settle=0.5) == []
    finally:
        if a.poll() is None:
            a.kill()
            a.wait(10)
        await engine.dispose()
