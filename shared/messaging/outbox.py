"""The transactional outbox: events written in the same transaction as the state change, then relayed.

`enqueue` adds the encoded event to the `outbox` table of the caller's transaction; `OutboxRelay`
publishes committed rows in id order with an idempotent producer and marks them sent. A crash between
publishing and marking publishes the rows again: consumers dedupe on the CloudEvent id (see `inbox`).

A row the broker refuses for what it is (too large, its topic unknown or forbidden) would block the relay
for ever: after `max_attempts` refusals it is parked instead, kept but skipped, until an operator releases
it (`border-<service> outbox parked|release`). The rows after it are published meanwhile.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared import metrics
from shared.contracts import Event
from shared.db import UtcDateTime
from shared.liveness import progressed
from shared.logging import correlation_id_var
from shared.messaging.codec import encode

log = logging.getLogger(__name__)

_metadata = MetaData()

outbox = Table(
    "outbox",
    _metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(120), nullable=False),
    Column("key", String(64), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
)
# The relay only ever scans unpublished rows.
# `published_at` of a parked row: not NULL, so the relay skips it; in the future, so `purge_sent` keeps it.
# A value rather than a column: every service's outbox stays as its first migration made it.
PARKED = datetime(9999, 12, 31, tzinfo=UTC)
# Refusals of the record itself: sending it again fails again, whatever the broker's health. An unknown
# topic is also what a broker not yet serving metadata looks like: parking it after a few attempts (each
# waits the producer's request timeout) is safe, since a parked row is kept and can be released.
REFUSED = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
Index("ix_outbox_unpublished", outbox.c.id, postgresql_where=outbox.c.published_at.is_(None))

processed_event = Table(
    "processed_event",
    _metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)


def add_messaging_tables(metadata: MetaData) -> None:
    """Give a service's metadata its own copy of the outbox and inbox tables, for its migrations."""
    outbox.to_metadata(metadata)
    processed_event.to_metadata(metadata)


TOPIC_PREFIX = "topic_prefix"
_PENDING = "outbox_pending"
_WAKE = "outbox_wake"


async def enqueue(
    session: AsyncSession,
    event: Event,
    *,
    source: str,
    correlation_id: str | None = None,
    topic: str | None = None,
) -> str:
    """Write `event` to the outbox within the session's transaction; returns its CloudEvent id.

    `topic` overrides the contract's topic; the runtime's topic prefix (tests) is applied to either.
    """
    [event_id] = await enqueue_many(
        session, [event], source=source, correlation_id=correlation_id, topic=topic
    )
    return event_id


async def enqueue_many(
    session: AsyncSession,
    events: list[Event],
    *,
    source: str,
    correlation_id: str | None = None,
    topic: str | None = None,
    correlation_ids: Sequence[str | None] | None = None,
) -> list[str]:
    """`enqueue` for many events in one INSERT statement (a batch's events, in their order); each may
    have a correlation id of its own (`correlation_ids`, one per event)."""
    if not events:
        return []
    prefix = session.sync_session.info.get(TOPIC_PREFIX, "")
    # By default the events continue the work in hand: the HTTP request or the event being handled.
    correlation_id = correlation_id or correlation_id_var.get()
    now = datetime.now(UTC)
    rows = []
    for i, one in enumerate(events):
        own = correlation_ids[i] if correlation_ids else None
        message = encode(one, source=source, correlation_id=own or correlation_id)
        headers = {k: v.decode() for k, v in message.headers.items()}
        rows.append(
            {
                "event_id": headers["ce_id"],
                "topic": prefix + (topic or one.topic),
                "key": message.key,
                "headers": headers,
                "value": message.value,
                "created_at": now,
            }
        )
    await session.execute(insert(outbox), rows)
    session.sync_session.info[_PENDING] = True
    return [row["event_id"] for row in rows]


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    # Publish right after the commit instead of waiting for the next poll.
    if session.info.pop(_PENDING, False) and (wake := session.info.get(_WAKE)):
        wake()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class OutboxRelay:
    """Publishes committed outbox rows in order; one relay per service database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        keep_sent: timedelta = timedelta(days=1),
        max_attempts: int = 5,
    ):
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._keep_sent = keep_sent
        self._max_attempts = max_attempts
        self._refusals: dict[int, int] = {}  # row id -> refusals so far, by this relay
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()  # set after the first pass: the relay holds a working connection
        sessions.kw.setdefault("info", {})[_WAKE] = self.wake

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; a broker or database outage only delays publishing."""
        backoff = 0.2
        while True:
            try:
                sent = await self.publish_batch()
                self.ready.set()
                progressed()
                backoff = 0.2
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:
                log.warning("outbox relay failed, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self._batch_size:
                if sent == 0:
                    await self.purge_sent()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the task's own cancellation,
                # and this loop would then outlive its service.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await self._wake.wait()
                self._wake.clear()

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows and mark them sent, in one transaction; returns how many
        rows were taken to their end (published or parked)."""
        async with self._sessions.begin() as session:
            # FOR UPDATE makes a second relay of the same database wait, so order holds with replicas.
            rows = (
                await session.execute(
                    select(
                        outbox.c.id,
                        outbox.c.event_id,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.headers,
                        outbox.c.value,
                    )
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return 0
            sent, refused = await self._publish(rows)
            await self._mark_sent(session, sent)
            to_park = self._count_refusals(refused)
            await self._park(session, [r.id for r, _ in to_park])
        for r, exc in to_park:
            # Ids and the error's type only: the row's value is personal data.
            log.error(
                "outbox row parked: the broker refuses it",
                extra={
                    "outbox_id": r.id,
                    "event_id": r.event_id,
                    "topic": r.topic,
                    "error": type(exc).__name__,
                },
            )
        return len(sent) + len(to_park)

    async def _publish(self, rows) -> tuple[list[int], list]:
        """Send every row; returns the ids published and the (row, error) of those refused for good.
        Any other failure (the broker away) raises: the transaction rolls back and the batch waits."""
        futures, refused = [], []
        for r in rows:
            try:
                headers = [(k, v.encode()) for k, v in r.headers.items()]
                futures.append(
                    (
                        r,
                        await self._producer.send(
                            r.topic, value=r.value, key=r.key.encode(), headers=headers
                        ),
                    )
                )
            except REFUSED as exc:
                refused.append((r, exc))
        sent = []
        for r, fut in futures:
            try:
                await fut
            except REFUSED as exc:
                refused.append((r, exc))
                continue
            sent.append(r.id)
            self._refusals.pop(r.id, None)
            metrics.EVENTS_PUBLISHED.labels(r.topic).inc()
        return sent, refused

    def _count_refusals(self, refused: list) -> list:
        """The refused rows that reached `max_attempts` refusals."""
        to_park = []
        for r, exc in refused:
            self._refusals[r.id] = self._refusals.get(r.id, 0) + 1
            if self._refusals[r.id] >= self._max_attempts:
                del self._refusals[r.id]
                to_park.append((r, exc))
        return to_park

    async def _mark_sent(self, session: AsyncSession, ids: list[int]) -> None:
        if ids:
            await session.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
            )

    async def _park(self, session: AsyncSession, ids: list[int]) -> None:
        if ids:
            await session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=PARKED))

    async def purge_sent(self) -> None:
        cutoff = datetime.now(UTC) - self._keep_sent
        async with self._sessions.begin() as session:
            await session.execute(delete(outbox).where(outbox.c.published_at < cutoff))

    async def waiting(self) -> int:
        return (await self.backlog())[0]

    async def backlog(self) -> tuple[int, datetime | None]:
        """Unpublished rows and when the oldest of them was written (for the backlog gauges)."""
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
                )
            ).one()
        return count, oldest

    async def parked_count(self) -> int:
        async with self._sessions() as session:
            query = select(func.count()).where(outbox.c.published_at == PARKED)
            return (await session.execute(query)).scalar_one()


@dataclass(frozen=True)
class ParkedRow:
    """What an operator sees of a parked row: where it was going and how big it is, not what it says."""

    id: int
    event_id: str
    type: str
    topic: str
    size: int
    created_at: datetime


async def parked(sessions: async_sessionmaker[AsyncSession], limit: int | None = None) -> list[ParkedRow]:
    """The parked rows, oldest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.headers,
                outbox.c.topic,
                func.length(outbox.c.value),
                outbox.c.created_at,
            )
            .where(outbox.c.published_at == PARKED)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [
            ParkedRow(id, event_id, headers.get("ce_type", ""), topic, size, created_at)
            for id, event_id, headers, topic, size, created_at in rows
        ]


async def release(sessions: async_sessionmaker[AsyncSession], ids: list[int] | None) -> int:
    """Give parked rows (all of them with `ids` None) back to the relay; returns how many."""
    query = update(outbox).where(outbox.c.published_at == PARKED).values(published_at=None)
    if ids is not None:
        query = query.where(outbox.c.id.in_(ids))
    async with sessions.begin() as session:
        return (await session.execute(query)).rowcount
