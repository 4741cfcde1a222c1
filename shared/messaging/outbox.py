"""The transactional outbox: events written in the same transaction as the state change, then relayed.

`enqueue` adds the encoded event to the `outbox` table of the caller's transaction; `OutboxRelay`
publishes committed rows in id order with an idempotent producer and marks them sent. A crash between
publishing and marking publishes the rows again: consumers dedupe on the CloudEvent id (see `inbox`).
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
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
    topic = session.sync_session.info.get(TOPIC_PREFIX, "") + (topic or event.topic)
    # By default the event continues the work in hand: the HTTP request or the event being handled.
    correlation_id = correlation_id or correlation_id_var.get()
    message = encode(event, source=source, correlation_id=correlation_id)
    headers = {k: v.decode() for k, v in message.headers.items()}
    await session.execute(
        insert(outbox).values(
            event_id=headers["ce_id"],
            topic=topic,
            key=message.key,
            headers=headers,
            value=message.value,
            created_at=datetime.now(UTC),
        )
    )
    session.sync_session.info[_PENDING] = True
    return headers["ce_id"]


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
    ):
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._keep_sent = keep_sent
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
        """Publish the oldest unpublished rows and mark them sent, in one transaction."""
        async with self._sessions.begin() as session:
            # FOR UPDATE makes a second relay of the same database wait, so order holds with replicas.
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.headers, outbox.c.value)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return 0
            await self._publish(rows)
            await self._mark_sent(session, [r.id for r in rows])
        return len(rows)

    async def _publish(self, rows) -> None:
        futures = [
            await self._producer.send(
                r.topic,
                value=r.value,
                key=r.key.encode(),
                headers=[(k, v.encode()) for k, v in r.headers.items()],
            )
            for r in rows
        ]
        for r, fut in zip(rows, futures, strict=True):
            await fut
            metrics.EVENTS_PUBLISHED.labels(r.topic).inc()

    async def _mark_sent(self, session: AsyncSession, ids: list[int]) -> None:
        await session.execute(
            update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
        )

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
