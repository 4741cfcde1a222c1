"""The demo's hands-free transfer desk: the same use cases staff call, run in rounds on a timer.

Each step is a use case of its own that moves forward whatever the database holds at its stage, so a
round cut short (a crash, the database away) leaves state the next round's steps simply carry on from:
there is nothing to resume. Every manifest still open is carried forward, whoever proposed it.
"""

import asyncio
import logging
from datetime import timedelta
from uuid import UUID

from sqlalchemy import exists, select

from services.transport import handlers
from services.transport.handlers import Uow
from services.transport.models import Manifest, Transfer
from services.transport.settings import Settings
from shared.liveness import progressed
from shared.unit_of_work import Deps

log = logging.getLogger(__name__)


async def propose_for_waiting(uow: Uow) -> None:
    """At every border province, propose the vehicles worth sending: full, or someone waited long enough."""
    max_wait = timedelta(minutes=uow.settings.auto_dispatch_max_wait_minutes)
    origins = await uow.session.scalars(
        select(Transfer.origin_province)
        .where(Transfer.ready.is_(True), Transfer.origin_province.is_not(None))
        .distinct()
    )
    for origin in origins.all():
        await handlers.propose_manifests(uow, origin_province=origin, max_wait=max_wait)


async def confirm_proposed(uow: Uow) -> None:
    for manifest_id in await _occupied(uow, "proposed"):
        await handlers.confirm_manifest(uow, manifest_id=manifest_id, scope=None)


async def dispatch_confirmed(uow: Uow) -> None:
    for manifest_id in await _occupied(uow, "confirmed"):
        await handlers.dispatch_manifest(uow, manifest_id=manifest_id, duration=None, scope=None)


async def hand_over_arrived(uow: Uow) -> None:
    """Everyone on board a vehicle due at its destination is handed over."""
    due = await uow.session.scalars(
        select(Manifest.id)
        .where(Manifest.status == "dispatched", Manifest.expected_arrival <= uow.now())
        .order_by(Manifest.expected_arrival, Manifest.id)
        .with_for_update()
    )
    for manifest_id in due.all():
        # Read after the manifest's lock: a hand-over staff recorded meanwhile is not recorded twice.
        aboard = await uow.session.scalars(
            select(Transfer.returnee_id).where(
                Transfer.manifest_id == manifest_id, Transfer.stage == "in_transit"
            )
        )
        for returnee_id in aboard.all():
            await handlers.record_arrival(
                uow, manifest_id=manifest_id, returnee_id=returnee_id, present=True, scope=None
            )


async def _occupied(uow: Uow, status: str) -> list[UUID]:
    """Manifests in `status` with someone on board, locked so another instance waits its turn and then
    finds them moved on. One emptied by a hold is left to staff, as it would be without auto-dispatch."""
    aboard = exists().where(Transfer.manifest_id == Manifest.id)
    query = (
        select(Manifest.id)
        .where(Manifest.status == status, aboard)
        .order_by(Manifest.created_at, Manifest.id)
        .with_for_update(of=Manifest)
    )
    return list((await uow.session.scalars(query)).all())


STEPS = (propose_for_waiting, confirm_proposed, dispatch_confirmed, hand_over_arrived)


async def run_round(deps: Deps[Settings]) -> None:
    """Each step in its own transaction, in the order a manifest goes through them."""
    for step in STEPS:
        await deps.run(step)


async def run_forever(deps: Deps[Settings]) -> None:
    """Rounds until cancelled; a failed round is logged and the next one tries again from the database."""
    while True:
        try:
            await run_round(deps)
            progressed()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Staff acting on the same manifest, or the database away: the next round starts again from
            # what is committed. Only the type is logged, since SQL errors carry the rows' values.
            log.warning("auto-dispatch round failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(deps.settings.auto_dispatch_interval_seconds)
