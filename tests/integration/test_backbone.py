"""The event backbone on the real broker and PostgreSQL: outbox, relay, inbox, dead letters.

These are the contract tests; they run on the local services and, where Docker answers, on testcontainers.
"""

import asyncio
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.topics import dlq
from shared.messaging.codec import decode, encode
from shared.messaging.consumer import EventConsumer, Subscription
from shared.messaging.outbox import OutboxRelay, outbox
from tests.conftest import read_topic
from tests.integration.conftest import ProbeHappened, count, seen, thing, write_thing
from tests.waiting import wait_until


async def test_rolled_back_event_is_never_published_and_committed_one_is_once(db, producer, topic, infra):
    await write_thing(db, topic, "rolled-back", fail=True)
    committed = await write_thing(db, topic, "committed")
    relay = OutboxRelay(db, producer)
    assert await relay.publish_batch() == 1
    assert await relay.publish_batch() == 0

    records = await read_topic(infra.kafka, topic, expect=1)
    assert len(records) == 1
    _envelope, event = decode(dict(records[0].headers), records[0].key, records[0].value)
    assert event == ProbeHappened(returnee_id=committed, label="committed")
    assert records[0].key == str(committed).encode()
    headers = dict(records[0].headers)
    assert headers["ce_type"] == ProbeHappened.type.encode()
    assert headers["ce_specversion"] == b"1.0"
    assert {"ce_id", "ce_source", "ce_time", "ce_partitionkey"} <= set(headers)
    assert await count(db, thing) == 1


async def test_relay_killed_between_publish_and_mark_is_seen_once(
    db, producer, topic, infra, unique, monkeypatch
):
    rid = await write_thing(db, topic, "crash")
    relay = OutboxRelay(db, producer)

    async def crash(*_args, **_kwargs):
        raise RuntimeError("relay killed before marking")

    monkeypatch.setattr(relay, "_mark_sent", crash)
    with pytest.raises(RuntimeError):
        await relay.publish_batch()
    monkeypatch.undo()
    assert await OutboxRelay(db, producer).publish_batch() == 1  # the restarted relay publishes again

    records = await read_topic(infra.kafka, topic, expect=2)
    assert len(records) == 2, "the crash republishes: that is the at-least-once half"
    assert records[0].headers == records[1].headers

    handled: list[UUID] = []

    async def handle(session: AsyncSession, event: ProbeHappened, _envelope) -> None:
        await session.execute(insert(seen).values(id=str(event.returnee_id)))
        handled.append(event.returnee_id)

    consumer = EventConsumer(
        Subscription(unique("group"), {ProbeHappened: handle}, topics=[topic]),
        bootstrap=infra.kafka,
        sessions=db,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await wait_until(lambda: consumer.processed == 2, what="both copies consumed")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert handled == [rid]
    assert await count(db, seen) == 1


async def test_poison_messages_go_to_dlq_and_the_partition_moves_on(db, producer, topic, infra, unique):
    key = str(uuid4()).encode()  # one key: all on one partition, in this order
    before_id, after_id, last_id = uuid4(), uuid4(), uuid4()
    good_before = encode(ProbeHappened(returnee_id=before_id, label="before"), source="/test")
    unknown = encode(ProbeHappened(returnee_id=uuid4(), label="x"), source="/test")
    unknown_headers = {**unknown.headers, "ce_type": b"kh.gov.border.nobody.knows.v1"}
    invalid = encode(ProbeHappened(returnee_id=uuid4(), label="x"), source="/test")
    good_after = encode(ProbeHappened(returnee_id=after_id, label="after"), source="/test")
    boom = encode(ProbeHappened(returnee_id=uuid4(), label="boom"), source="/test")
    last = encode(ProbeHappened(returnee_id=last_id, label="last"), source="/test")

    def send(headers, value):
        return producer.send_and_wait(topic, key=key, value=value, headers=list(headers.items()))

    await send(good_before.headers, good_before.value)
    await send({"content-type": b"text/plain"}, b"\x00not a cloudevent")
    await send(unknown_headers, unknown.value)
    await send(invalid.headers, b'{"returnee_id": "not-a-uuid", "label": 3}')
    await send(good_after.headers, good_after.value)
    await send(boom.headers, boom.value)
    await send(last.headers, last.value)

    handled: list[str] = []

    async def handle(session, event: ProbeHappened, _envelope) -> None:
        if event.label == "boom":
            raise ValueError("this handler always fails on boom")
        await session.execute(insert(seen).values(id=str(event.returnee_id)))
        handled.append(event.label)

    consumer = EventConsumer(
        Subscription(unique("group"), {ProbeHappened: handle}, topics=[topic]),
        bootstrap=infra.kafka,
        sessions=db,
        producer=producer,
        max_attempts=3,
        retry_wait=0.01,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await wait_until(lambda: "last" in handled, what="the last good message handled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # The poll's good records ran together first; `boom` rolled that back, so each then ran alone: what
    # stuck in the database is the three good ones, once each, in partition order.
    assert handled[-3:] == ["before", "after", "last"]
    async with db() as session:
        stored = (await session.execute(select(seen.c.id).order_by(seen.c.n))).scalars().all()
    assert stored == [str(before_id), str(after_id), str(last_id)]
    dead = await read_topic(infra.kafka, dlq(topic), expect=4)
    reasons = [dict(r.headers)["dlq_reason"].decode() for r in dead]
    assert reasons == ["undecodable", "unknown_type", "invalid_payload", "handler_failed"]
    assert dict(dead[3].headers)["dlq_detail"] == b"ValueError"
    assert dict(dead[2].headers)["dlq_detail"] == b"returnee_id,label"
    assert all(dict(r.headers)["dlq_topic"] == topic.encode() for r in dead)
    assert dead[0].value == b"\x00not a cloudevent"


async def test_outbox_is_written_in_the_callers_transaction(db, topic):
    await write_thing(db, topic, "one")
    await write_thing(db, topic, "two", fail=True)
    assert await count(db, outbox) == 1
    assert await count(db, thing) == 1


async def test_a_redelivered_event_is_skipped_by_the_inbox(db, producer, topic, infra, unique):
    message = encode(ProbeHappened(returnee_id=uuid4(), label="twice"), source="/test")
    for _ in range(2):
        await producer.send_and_wait(
            topic, key=message.key.encode(), value=message.value, headers=list(message.headers.items())
        )
    handled = []

    async def handle(session, event, _envelope):
        await session.execute(insert(seen).values(id=str(event.returnee_id)))
        handled.append(event.label)

    group = unique("group")
    consumer = EventConsumer(
        Subscription(group, {ProbeHappened: handle}, topics=[topic]),
        bootstrap=infra.kafka,
        sessions=db,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await wait_until(lambda: consumer.processed == 2, what="both deliveries consumed")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert handled == ["twice"]
    assert await count(db, seen) == 1
