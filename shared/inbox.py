"""The inbox: a consumer records each CloudEvent id in the same transaction as the handler's changes."""

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.outbox import processed_event


async def claim(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record the event as processed by `consumer`; False when it already was (a redelivery)."""
    dialect = sqlite if session.bind.dialect.name == "sqlite" else postgresql
    stmt = (
        dialect.insert(processed_event)
        .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(processed_event.c.event_id)
    )
    return (await session.execute(stmt)).first() is not None
