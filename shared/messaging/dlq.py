"""Dead letters back onto their topic: each record of `<topic>.dlq` is sent again to `dlq_topic` with its own
key and headers (its CloudEvent id included), so a consumer that handled it already skips it (the inbox)."""

import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord


async def dead_letters(
    bootstrap: str, topic: str, *, event_id: str | None = None, limit: int | None = None, timeout: float = 5.0
) -> list[ConsumerRecord]:
    """The records of `topic` (a `.dlq` topic) from its start, filtered by CloudEvent id."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        ends = None
        while time.monotonic() < deadline and (limit is None or len(found) < limit):
            if ends is None and consumer.assignment():
                ends = await consumer.end_offsets(list(consumer.assignment()))
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    if event_id is None or dict(r.headers).get("ce_id") == event_id.encode():
                        found.append(r)
            if ends is not None and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
    finally:
        await consumer.stop()
    return found[:limit]


def describe(record: ConsumerRecord) -> dict[str, str]:
    """What the dry run shows of a dead letter: where it came from and why, never its key or content."""
    h = {k: v.decode(errors="replace") for k, v in record.headers}
    return {
        "dlq offset": str(record.offset),
        "event id": h.get("ce_id", ""),
        "type": h.get("ce_type", ""),
        "from": f"{h.get('dlq_topic', '')}/{h.get('dlq_partition', '')}@{h.get('dlq_offset', '')}",
        "reason": h.get("dlq_reason", ""),
        "consumer": h.get("dlq_consumer", ""),
    }


async def replay(producer: AIOKafkaProducer, records: list[ConsumerRecord]) -> int:
    """Send each record (those with a value: a too-large one was parked without) to its original topic."""
    sent = 0
    for r in records:
        headers = dict(r.headers)
        if r.value is None or "dlq_topic" not in headers:
            continue
        original = [(k, v) for k, v in r.headers if not k.startswith("dlq_")]
        await producer.send_and_wait(
            headers["dlq_topic"].decode(), value=r.value, key=r.key, headers=original
        )
        sent += 1
    return sent
