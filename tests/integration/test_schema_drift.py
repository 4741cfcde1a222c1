"""Schema drift and oversized messages against a real service's consumer (quarantine), on real Kafka.

test_backbone.py covers malformed bytes, unknown types and a failing handler with a probe consumer; these
tests add what a contract change or a misbehaving producer does to a running service. Every message goes to
partition 0, in order, so the last good one being handled proves the partition kept flowing.
"""

import json

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE, dlq
from shared.messaging.codec import MAX_EVENT_BYTES, encode
from tests.conftest import read_topic
from tests.quarantine.helpers import add_facility, episode, episode_in, registered

QUIET = {"scheduler_seconds": 3600}  # nothing but the consumer moves episodes here
# A minor version keeps its `.v1` type (it only adds fields) and may name itself in `dataschema`.
MINOR = b"urn:kh.gov.border:schema:returnee.registered:1.1"


async def send(stack, producer, event: ReturneeRegistered, *, payload=None, headers=None) -> int:
    """Put one registration on partition 0 of the stack's topic, its payload edited; returns its offset."""
    message = encode(event, source="/test/intake-next")
    value = message.value
    if payload is not None:
        value = json.dumps(payload(json.loads(message.value))).encode()
    sent = await producer.send_and_wait(
        stack.topic(RETURNEE),
        key=message.key.encode(),
        value=value,
        headers=list({**message.headers, **(headers or {})}.items()),
        partition=0,
    )
    return sent.offset


def with_extras(data: dict) -> dict:
    """What a 1.1 producer would add: new top-level and nested fields this reader does not know."""
    return data | {
        "interpreter_language": "th",
        "vaccination": {"doses": 2, "last_on": "2026-10-01"},
        "screening": data["screening"] | {"spo2_percent": 97},
    }


def without(field: str):
    def drop(data: dict) -> dict:
        return {k: v for k, v in data.items() if k != field}

    return drop


async def dead_letters(stack, expect: int):
    return await read_topic(stack.infra.kafka, dlq(stack.topic(RETURNEE)), expect=expect, settle=1.0)


async def test_a_newer_minor_version_is_handled_and_a_missing_field_is_dead_lettered(stack, producer):
    quarantine = await stack.start("quarantine", **QUIET)
    await add_facility(quarantine, "QF-1", capacity=10, lat=13.66, lon=102.55, care=("pregnant",))
    newer, broken, last = registered(care=("pregnant",)), registered(), registered(policy="home")

    await send(stack, producer, newer, payload=with_extras, headers={"ce_dataschema": MINOR})
    broken_offset = await send(stack, producer, broken, payload=without("policy"))
    await send(stack, producer, last)

    await episode_in(quarantine, last.returnee_id, "awaiting_handover")
    placed = await episode_in(quarantine, newer.returnee_id, "placed")
    # The known fields of the newer version took effect; the unknown ones were skipped, not refused.
    assert placed["facility_id"] == "QF-1"
    assert placed["special_care"] == ["pregnant"]
    assert placed["home_village_code"] == newer.home_village_code
    assert await episode(quarantine, broken.returnee_id) is None

    (dead,) = await dead_letters(stack, expect=1)
    headers = dict(dead.headers)
    assert headers["dlq_reason"] == b"invalid_payload"
    assert headers["dlq_detail"] == b"policy"
    assert headers["dlq_partition"] == b"0" and headers["dlq_offset"] == str(broken_offset).encode()
    assert json.loads(dead.value)["returnee_id"] == str(broken.returnee_id)


async def test_a_huge_message_is_refused_or_dead_lettered_and_the_partition_flows(stack, producer):
    quarantine = await stack.start("quarantine", **QUIET)
    await add_facility(quarantine, "QF-1", capacity=10, lat=13.66, lon=102.55)
    before, refused, huge, after = registered(), registered(), registered(), registered()
    padding = "x" * (MAX_EVENT_BYTES + 1024)

    await send(stack, producer, before)
    # Above the transport's 1 MiB: the producer refuses it, nothing reaches the topic.
    with pytest.raises(MessageSizeTooLargeError):
        await send(stack, producer, refused, payload=lambda d: d | {"notes": padding * 5})
    # Below the transport's limit but above any contract: carried, then parked unread by the consumer.
    huge_offset = await send(stack, producer, huge, payload=lambda d: d | {"notes": padding})
    await send(stack, producer, after)

    await episode_in(quarantine, after.returnee_id, "placed")
    assert (await episode(quarantine, before.returnee_id))["status"] == "placed"
    assert await episode(quarantine, huge.returnee_id) is None
    assert await episode(quarantine, refused.returnee_id) is None

    (dead,) = await dead_letters(stack, expect=1)
    headers = dict(dead.headers)
    assert headers["dlq_reason"] == b"too_large"
    size = int(headers["dlq_detail"].removesuffix(b" bytes"))
    assert size > MAX_EVENT_BYTES
    # The copy would not fit the dead-letter topic's limits: the headers point at the original instead.
    assert dead.value is None
    assert headers["dlq_offset"] == str(huge_offset).encode() and headers["dlq_partition"] == b"0"
    original = await read_topic(stack.infra.kafka, stack.topic(RETURNEE), expect=3, settle=0.5)
    assert [len(r.value) for r in original if r.offset == huge_offset] == [size]
