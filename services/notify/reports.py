"""Kannel's delivery reports, settled together: one transaction for all the reports that came while the
last one was committing (group commit), instead of a transaction per report.

smsbox calls us once per report and treats anything but a 2xx as a reason to call again, so each call
is answered only after the commit that holds its report: a report answered 200 is never lost. There is
no wait to fill a batch; under load the batch is whatever queued up during the previous commit.
"""

import asyncio
from uuid import UUID

from services.notify import handlers
from services.notify.settings import Settings
from shared.errors import NotFound
from shared.unit_of_work import Deps

MAX_BATCH = 500


class DeliveryReports:
    def __init__(self) -> None:
        self._queue: list[tuple[UUID, int, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def record(self, deps: Deps[Settings], *, delivery_id: UUID, status: int) -> None:
        """Return once the report is committed; NotFound if it names no delivery of ours."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((delivery_id, status, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(deps))
        # Shielded: a caller that hangs up must not cancel the others' commit.
        await asyncio.shield(done)

    async def _flush(self, deps: Deps[Settings]) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                unknown = await deps.run(
                    handlers.record_delivery_reports, reports=[(i, status) for i, status, _ in batch]
                )
            except BaseException as exc:
                # The database away (or the service stopping): every caller answers 5xx, smsbox retries.
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("stopping"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for delivery_id, _, done in batch:
                if not done.done():
                    if delivery_id in unknown:
                        done.set_exception(NotFound("delivery not found"))
                    else:
                        done.set_result(None)
