"""The demo's hands-free transfer desk: the same use cases staff call, run in rounds on a timer."""

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import select

from services.transport import handlers
from services.transport.models import Manifest, Transfer
from shared.liveness import progressed
from shared.service import Runtime

log = logging.getLogger(__name__)


async def run_round(rt: Runtime, *, max_wait: timedelta) -> None:
    """Send what is worth sending from every border province, and hand over what has arrived."""
    await finish_open_manifests(rt)
    async with rt.sessions() as session:
        origins = (
            await session.scalars(select(Transfer.origin_province).where(Transfer.ready.is_(True)).distinct())
        ).all()
    for origin in filter(None, origins):
        proposed = await handlers.propose_manifests(rt, origin_province=origin, max_wait=max_wait)
        for view in proposed.manifests:
            await handlers.confirm_manifest(rt, manifest_id=view.manifest.id, scope=None)
            await handlers.dispatch_manifest(rt, manifest_id=view.manifest.id, duration=None, scope=None)
    await hand_over_arrived(rt)


async def finish_open_manifests(rt: Runtime) -> None:
    """Manifests an earlier round proposed or confirmed but did not dispatch (a crash, the database away
    between two steps): their passengers are no longer in the queue, so nothing else would send them."""
    async with rt.sessions() as session:
        open_ = (
            await session.execute(
                select(Manifest.id, Manifest.status).where(Manifest.status.in_(("proposed", "confirmed")))
            )
        ).all()
    for manifest_id, status in open_:
        # Another instance may be on the same manifest, or nobody is left on it: the next one, then.
        with contextlib.suppress(handlers.Conflict):
            if status == "proposed":
                await handlers.confirm_manifest(rt, manifest_id=manifest_id, scope=None)
            await handlers.dispatch_manifest(rt, manifest_id=manifest_id, duration=None, scope=None)


async def hand_over_arrived(rt: Runtime) -> None:
    async with rt.sessions() as session:
        arrived = (
            await session.execute(
                select(Transfer.manifest_id, Transfer.returnee_id)
                .join(Manifest, Manifest.id == Transfer.manifest_id)
                .where(
                    Manifest.status == "dispatched",
                    Manifest.expected_arrival <= rt.clock.now(),
                    Transfer.stage == "in_transit",
                )
            )
        ).all()
    for manifest_id, returnee_id in arrived:
        await handlers.record_arrival(
            rt, manifest_id=manifest_id, returnee_id=returnee_id, present=True, scope=None
        )


async def run_forever(rt: Runtime, *, max_wait: timedelta, interval: float) -> None:
    """Rounds until cancelled; a failed round is logged and the next one tries again from the database."""
    while True:
        try:
            await run_round(rt, max_wait=max_wait)
            progressed()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Staff acting on the same manifest, or the database away: the next round starts again from
            # what is committed. Only the type is logged, since SQL errors carry the rows' values.
            log.warning("auto-dispatch round failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(interval)
