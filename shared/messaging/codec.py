"""Events on the wire: CloudEvents in binary mode, through the `cloudevents` library's Kafka binding."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from shared.contracts import Event, event_class

SPECVERSION = "1.0"
# Far above any contract (a full manifest is a few KiB), far below the broker's 1 MiB: anything bigger is a
# bug or an attack, and is dead-lettered unread rather than parsed and stored.
MAX_EVENT_BYTES = 256 * 1024


class PoisonMessage(Exception):
    """A message no retry can fix; `reason` goes into the dead-letter headers."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Envelope:
    """The CloudEvents attributes of a consumed event."""

    id: str
    source: str
    type: str
    time: datetime | None
    correlation_id: str | None


def encode(
    event: Event, *, source: str, event_id: str | None = None, correlation_id: str | None = None
) -> ce_kafka.KafkaMessage:
    """The Kafka message (headers, key, value) for a contract instance."""
    attributes = {
        "id": event_id or str(uuid4()),
        "source": source,
        "type": event.type,
        "specversion": SPECVERSION,
        "time": datetime.now(UTC),
        "datacontenttype": "application/json",
        "partitionkey": event.partition_key(),
    }
    if correlation_id:
        attributes["correlationid"] = correlation_id
    return ce_kafka.to_binary_event(CloudEvent(attributes=attributes, data=event.model_dump(mode="json")))


def decode(headers: dict[str, bytes], key: bytes | None, value: bytes | None) -> tuple[Envelope, Event]:
    """Parse and validate a consumed message; raises `PoisonMessage` when it can never be handled."""
    if value is not None and len(value) > MAX_EVENT_BYTES:
        raise PoisonMessage("too_large", f"{len(value)} bytes")
    try:
        ce = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(headers=headers, key=key, value=value or b""))
    except Exception as exc:  # the library raises several types for one cause: a message we cannot read
        raise PoisonMessage("undecodable", type(exc).__name__) from exc
    data = ce.get_data()
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise PoisonMessage("undecodable", "payload is not JSON") from exc
    attrs = ce.get_attributes()
    cls = event_class(attrs["type"])
    if cls is None:
        raise PoisonMessage("unknown_type", attrs["type"][:200])
    try:
        # A tolerant reader: a newer minor version of the same `.vN` type only adds fields, which we skip.
        event = cls.model_validate(data, extra="ignore")
    except ValidationError as exc:
        # Only the failing field paths: the values may be personal data.
        fields = ",".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise PoisonMessage("invalid_payload", fields[:500]) from exc
    envelope = Envelope(
        id=attrs["id"],
        source=attrs["source"],
        type=attrs["type"],
        time=attrs.get("time"),
        correlation_id=attrs.get("correlationid"),
    )
    return envelope, event
