"""Events survive a broker restart: stop Kafka by PID, start it again, nothing lost, nothing doubled.

The test runs its own broker (own data dir and ports, started by deploy/kafka.sh) so that stopping it
disturbs nobody else.
"""

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import insert

from shared.contracts.topics import TopicSpec, dlq
from shared.messaging.admin import ensure_topics
from shared.messaging.consumer import EventConsumer, Subscription
from shared.messaging.outbox import OutboxRelay
from shared.web.service import make_producer
from tests.conftest import read_topic
from tests.integration.conftest import ProbeHappened, count, seen, write_thing
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PORT, CONTROLLER_PORT = 19092, 19093


def kafka(command: str, run_dir: Path) -> None:
    env = {
        **os.environ,
        "KAFKA_RUN_DIR": str(run_dir),
        "KAFKA_PORT": str(PORT),
        "KAFKA_CONTROLLER_PORT": str(CONTROLLER_PORT),
        "KAFKA_HEAP": "-Xmx256m",
    }
    done = subprocess.run(
        ["bash", str(ROOT / "deploy/kafka.sh"), command], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"kafka.sh {command} failed:\n{done.stderr[-3000:]}"


@pytest.fixture
def own_broker(infra):
    if infra.name != "local":
        pytest.skip("restarts a broker started by deploy/kafka.sh; containers are restarted differently")
    run_dir = ROOT / ".run" / f"kafka-restart-{uuid4().hex[:6]}"
    kafka("start", run_dir)
    yield f"127.0.0.1:{PORT}", run_dir
    kafka("stop", run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)


async def test_events_survive_a_broker_restart(own_broker, db, unique):
    bootstrap, run_dir = own_broker
    topic = unique("restart").replace("_", ".")
    await ensure_topics(bootstrap, [TopicSpec(topic, 6), TopicSpec(dlq(topic), 1)])
    producer = make_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(db, producer, poll_seconds=0.2)
    relay_task = asyncio.create_task(relay.run())
    handled: list[str] = []

    async def handle(session, event: ProbeHappened, _envelope):
        await session.execute(insert(seen).values(id=str(event.returnee_id)))
        handled.append(event.label)

    consumer = EventConsumer(
        Subscription(unique("group"), {ProbeHappened: handle}, topics=[topic]),
        bootstrap=bootstrap,
        sessions=db,
        producer=producer,
    )
    consumer_task = asyncio.create_task(consumer.run())
    try:
        for i in range(20):
            await write_thing(db, topic, f"before-{i}")
        await wait_until(lambda: len(handled) == 20, timeout=30, what="events before the restart handled")

        await asyncio.to_thread(kafka, "stop", run_dir)
        for i in range(20):  # written while the broker is down: they wait in the outbox
            await write_thing(db, topic, f"during-{i}")
        await asyncio.to_thread(kafka, "start", run_dir)

        await wait_until(
            lambda: len(handled) == 40, timeout=60, what="events written during the outage handled"
        )
        assert (await relay.backlog())[0] == 0
    finally:
        for task in (relay_task, consumer_task):
            task.cancel()
        await asyncio.gather(relay_task, consumer_task, return_exceptions=True)
        await producer.stop()

    records = await read_topic(bootstrap, topic, expect=40)
    labels = sorted(ProbeHappened.model_validate_json(r.value).label for r in records)
    assert labels == sorted([f"before-{i}" for i in range(20)] + [f"during-{i}" for i in range(20)])
    assert sorted(handled) == labels
    assert await count(db, seen) == 40
