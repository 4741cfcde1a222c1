"""The inbox: a consumer records each CloudEvent id in the same transaction as the handler's changes."""

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.outbox import processed_event


async def claim(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record the event as processed by `consumer`; False when it already was (a redelivery)."""
    return event_id in await claim_many(session, consumer, [event_id])


async def claim_many(session: AsyncSession, consumer: str, event_ids: list[str]) -> set[str]:
    """Record a batch of events in one statement; returns the ids not processed before."""
    dialect = sqlite if session.bind.dialect.name == "sqlite" else postgresql
    now = datetime.now(UTC)
    rows = [{"consumer": consumer, "event_id": i, "processed_at": now} for i in dict.fromkeys(event_ids)]
    stmt = (
        dialect.insert(processed_event)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(processed_event.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())
