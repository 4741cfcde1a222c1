"""Liveness of a service's background loops: each reports progress, and a stalled one is replaced.

A loop (a consumer, the outbox relay, notify's delivery worker, a scheduler) calls `progressed()` each time
it has moved work forward, or has looked and found nothing to do. The watchdog asks a loop that has been
quiet for `stall_seconds` how much work waits for it (consumer lag, unpublished outbox rows, due
deliveries). Work waiting and no progress means stalled: the loop is named in `/readyz` (503), the
`border_loop_stalled` gauge reads 1 (the `BackgroundLoopStalled` alert), and the loop is cancelled and
started again. Nothing waiting means it is merely idle, which is fine.

Restarting after a crash is the supervisor's part; this catches the loop that neither crashes nor moves
(an await nobody will answer, a consumer the group no longer feeds). While the database or the broker is
away no loop can move, so the watchdog does not judge then: every loop's quiet time starts again when the
dependencies answer, and only a loop that stays quiet for `stall_seconds` after that is stalled.
"""

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared import metrics

log = logging.getLogger(__name__)

# How much work waits for a loop; None: a timer loop, for which a round is always due.
Waiting = Callable[[], Awaitable[int]] | None

_current: contextvars.ContextVar["Loop | None"] = contextvars.ContextVar("loop", default=None)


def progressed() -> None:
    """Tell the watchdog the loop running this code moved forward (a no-op outside a supervised loop)."""
    if loop := _current.get():
        loop.progressed()


@dataclass(eq=False)
class Loop:
    """One supervised background loop: restarted after a crash, replaced when stalled."""

    name: str
    run: Callable[[], Awaitable[None]]
    waiting: Waiting = None
    service: str = "service"
    task: asyncio.Task | None = None
    stalled: bool = False
    last_progress: float = field(default_factory=time.monotonic)
    replaced: int = 0

    def progressed(self) -> None:
        self.last_progress = time.monotonic()
        if self.stalled:
            self.stalled = False
            metrics.LOOP_STALLED.labels(self.service, self.name).set(0)
            log.warning("background loop moves again", extra={"task": self.name})

    def start(self) -> None:
        self.last_progress = time.monotonic()
        metrics.LOOP_STALLED.labels(self.service, self.name).set(1 if self.stalled else 0)
        # The task's context carries this loop, so `progressed()` anywhere below it finds it.
        self.task = asyncio.create_task(_supervise(self), context=_context_for(self))

    async def stop(self, timeout: float = 10) -> None:
        if self.task is None:
            return
        self.task.cancel()
        # A run stuck in its own clean-up must not hold the watchdog (or shutdown) with it.
        _, pending = await asyncio.wait({self.task}, timeout=timeout)
        if pending:
            log.error("background loop did not stop when cancelled", extra={"task": self.name})

    async def replace(self) -> None:
        """Cancel the current run (a cancelled consumer commits what it finished) and start afresh."""
        self.replaced += 1
        metrics.LOOP_REPLACED.labels(self.service, self.name).inc()
        await self.stop()
        self.start()


def _context_for(loop: Loop) -> contextvars.Context:
    ctx = contextvars.copy_context()
    ctx.run(_current.set, loop)
    return ctx


async def _supervise(loop: Loop) -> None:
    """Keep a loop alive: after a crash it starts again (uncommitted work is redelivered)."""
    delay = 0.5
    while True:
        try:
            await loop.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error(
                "background task crashed, restarting", extra={"task": loop.name, "error": type(exc).__name__}
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


class Watchdog:
    """Looks at every loop each `interval`; replaces those with work waiting and no progress in `stall`."""

    def __init__(
        self,
        loops: Callable[[], list[Loop]],
        *,
        stall_seconds: float,
        healthy: Callable[[], Awaitable[bool]] | None = None,
        probe_timeout: float = 5,
    ):
        self._loops = loops
        self.stall_seconds = stall_seconds
        self._healthy = healthy
        self._probe_timeout = probe_timeout

    async def run(self) -> None:
        interval = max(min(self.stall_seconds / 4, 5.0), 0.1)
        while True:
            await asyncio.sleep(interval)
            if not await self._dependencies_answer():
                for loop in self._loops():
                    loop.last_progress = time.monotonic()  # an outage is not the loop's fault
                continue
            for loop in list(self._loops()):
                try:
                    await self.check(loop)
                except Exception as exc:  # the watchdog itself must not die of one loop
                    log.error("watchdog check failed", extra={"task": loop.name, "error": type(exc).__name__})

    async def check(self, loop: Loop) -> None:
        quiet = time.monotonic() - loop.last_progress
        if quiet < self.stall_seconds:
            return
        waiting = await self._waiting(loop)
        if waiting is None:
            return  # could not tell (the database or the broker away): readiness says that already
        if waiting == 0:
            loop.progressed()  # idle, not stuck
            return
        loop.stalled = True
        log.error(
            "background loop stalled with work waiting, replacing it",
            extra={"task": loop.name, "waiting": waiting, "quiet_seconds": round(quiet, 1)},
        )
        await loop.replace()

    async def _dependencies_answer(self) -> bool:
        if self._healthy is None:
            return True
        try:
            async with asyncio.timeout(self._probe_timeout):
                return await self._healthy()
        except Exception:
            return False

    async def _waiting(self, loop: Loop) -> int | None:
        if loop.waiting is None:
            return 1
        try:
            async with asyncio.timeout(self._probe_timeout):
                return await loop.waiting()
        except Exception as exc:
            error = type(exc).__name__
            log.warning("could not tell a loop's waiting work", extra={"task": loop.name, "error": error})
            return None
