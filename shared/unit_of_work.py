"""One way to run a use case: a typed unit of work, opened by `Deps.run` and nowhere else.

A use case is `async def name(uow: UnitOfWork[Settings], *, ...)`. It reads and writes through
`uow.session`, asks `uow.now()` for the time, enqueues its events with `uow.emit(...)`, and knows nothing
of FastAPI, Kafka or the CLI. Routes, CLIs and background loops call `deps.run(use_case, **arguments)`, which
commits the use case's changes and events together or not at all; a consumer's handler is
`deps.handler(use_case)`, which runs in the consumer's transaction for its batch.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event as orm_events
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from shared.clock import Clock
from shared.contracts import Event
from shared.db import make_engine, make_sessionmaker
from shared.liveness import progressed
from shared.messaging.codec import Envelope
from shared.messaging.outbox import TOPIC_PREFIX, enqueue, enqueue_many
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit trail keeps it: the route template, never the raw path."""

    route: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class UnitOfWork(Generic[S]):
    """One transaction and what a use case needs beside it."""

    session: AsyncSession
    clock: Clock
    settings: S
    source: str  # the CloudEvents source of what this service publishes
    origin: Origin | None = None  # the HTTP request this work answers, if any
    envelope: Envelope | None = None  # the event this work handles, if a consumer runs it

    def now(self) -> datetime:
        return self.clock.now()

    async def emit(self, event: Event, *, topic: str | None = None) -> None:
        """Enqueue `event` in this transaction: it is published if, and only if, the work commits."""
        await enqueue(self.session, event, source=self.source, topic=topic)

    async def emit_many(self, events: list[Event], *, correlation_ids: list[str] | None = None) -> None:
        """`emit` for a batch's events, in one statement; `correlation_ids`, one per event, when each
        continues a work of its own (a tablet's queued registrations sent together)."""
        await enqueue_many(self.session, events, source=self.source, correlation_ids=correlation_ids)

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the transaction has committed (a metric counted, a worker woken), never if
        it rolls back; whoever owns the transaction (`Deps.run` or a consumer's batch) commits it."""
        self.session.info.setdefault(_ON_COMMIT, []).append(action)


# Actions wait in the session's info for one listener per event on every session (as the outbox's wake-up
# does): cheaper than a listener added and removed per transaction on the hot paths.
_ON_COMMIT = "unit_of_work_on_commit"


@orm_events.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    for action in session.info.pop(_ON_COMMIT, ()):
        action()


@orm_events.listens_for(Session, "after_transaction_end")
def _drop_on_commit(session: Session, transaction: SessionTransaction) -> None:
    # Only when the whole transaction ends (after_commit has run by then): a savepoint rolled back inside
    # it keeps what the rest of the work asked for.
    if transaction.parent is None:
        session.info.pop(_ON_COMMIT, None)


UseCase = Callable[..., Awaitable[T]]  # (uow, *, keyword arguments) -> T


@dataclass(frozen=True)
class Deps(Generic[S]):
    """A service's dependencies, made once at start and handed to routes, consumers, CLIs and loops."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: S
    source: str

    @classmethod
    def of(cls, settings: S, engine: AsyncEngine) -> "Deps[S]":
        """The service's dependencies over `engine`: its sessions carry the topic prefix, its clock the
        demo speed, its events the service's source."""
        sessions = make_sessionmaker(engine)
        sessions.kw.setdefault("info", {})[TOPIC_PREFIX] = settings.topic_prefix
        clock = Clock(settings.clock_speed, settings.clock_epoch)
        return cls(sessions, clock, settings, f"/border/{settings.service_name}")

    def unit(self, session: AsyncSession, **context: Any) -> UnitOfWork[S]:
        return UnitOfWork(session, self.clock, self.settings, self.source, **context)

    async def run(self, use_case: UseCase[T], /, *, origin: Origin | None = None, **arguments: Any) -> T:
        """Run `use_case` in a transaction of its own: committed when it returns, rolled back if it raises."""
        async with self.sessions.begin() as session:
            result = await use_case(self.unit(session, origin=origin), **arguments)
        # A committed unit of work is progress: a background loop's long round of many of them is slow,
        # not stuck (outside a supervised loop this does nothing).
        progressed()
        return result

    def handler(self, use_case: Callable[..., Awaitable[None]]):
        """A consumer's handler for `use_case(uow, event=...)`, in the consumer's transaction."""

        async def handle(session: AsyncSession, event: Event, envelope: Envelope) -> None:
            await use_case(self.unit(session, envelope=envelope), event=event)

        handle.__name__ = getattr(use_case, "__name__", "handle")
        return handle


@asynccontextmanager
async def standalone(settings: S) -> AsyncIterator[Deps[S]]:
    """Deps for a CLI command: the service's database and clock, no broker (the service's relay
    publishes what a command enqueues)."""
    engine = make_engine(settings.database_url)
    try:
        yield Deps.of(settings, engine)
    finally:
        await engine.dispose()


async def get_deps(request: Request) -> Deps:  # async: no thread-pool hop (see shared/web/auth.py)
    return request.app.state.deps


async def get_origin(request: Request) -> Origin:
    route = getattr(request.scope.get("route"), "path", None)
    return Origin(
        route=f"{request.method} {route}" if route else None,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:300] or None,
    )


DepsDep = Annotated[Deps, Depends(get_deps)]
OriginDep = Annotated[Origin, Depends(get_origin)]
