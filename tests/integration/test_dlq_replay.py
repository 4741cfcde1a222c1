"""A dead-lettered event goes back to its topic with `replay`, and is handled once however often replayed."""

import asyncio
from uuid import uuid4

from typer.testing import CliRunner

from services.quarantine.main import run
from shared.contracts.topics import dlq
from shared.messaging.codec import encode
from shared.messaging.consumer import EventConsumer, Subscription
from shared.messaging.dlq import dead_letters, describe, replay
from tests.conftest import read_topic
from tests.integration.conftest import ProbeHappened
from tests.waiting import wait_until


async def test_replay_puts_a_dead_letter_back_once(db, producer, topic, infra, unique):
    event = ProbeHappened(returnee_id=uuid4(), label="replayed")
    message = encode(event, source="/test")
    broken = [True]
    handled = []

    async def handler(_session, ev, _envelope):
        if broken[0]:
            raise RuntimeError("a bug, fixed later")
        handled.append(ev)

    consumer = EventConsumer(
        Subscription(unique("g"), {ProbeHappened: handler}, [topic]),
        bootstrap=infra.kafka,
        sessions=db,
        producer=producer,
        max_attempts=1,
        retry_wait=0,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await producer.send_and_wait(
            topic, value=message.value, key=message.key.encode(), headers=list(message.headers.items())
        )
        [letter] = await read_topic(infra.kafka, dlq(topic), expect=1)
        event_id = dict(letter.headers)["ce_id"].decode()

        listed = await dead_letters(infra.kafka, dlq(topic), event_id=event_id)  # the dry run's list
        assert [describe(r)["event id"] for r in listed] == [event_id]
        assert str(event.returnee_id) not in str(describe(listed[0]))
        dry = await asyncio.to_thread(  # the command runs its own event loop
            CliRunner().invoke,
            run,
            ["dlq", "replay", "--topic", dlq(topic), "--event-id", event_id, "--dry-run"],
            env={"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "COLUMNS": "250"},
        )
        assert dry.exit_code == 0, dry.output
        assert event_id in dry.output and "none (dry run)" in dry.output
        assert str(event.returnee_id) not in dry.output
        assert len(await read_topic(infra.kafka, topic, expect=1)) == 1  # listing changed nothing

        broken[0] = False
        assert await replay(producer, listed) == 1
        assert await replay(producer, await dead_letters(infra.kafka, dlq(topic), limit=1)) == 1
        await wait_until(lambda: consumer.processed >= 3, what="the two replays consumed")
        assert handled == [event]
        back = await read_topic(infra.kafka, topic, expect=3)
        assert all(dict(r.headers)["ce_id"] == event_id.encode() for r in back)
        assert all(not k.startswith("dlq_") for r in back for k, _ in r.headers)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
