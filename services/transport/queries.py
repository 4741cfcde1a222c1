"""What the working group reads: manifests, transfers, fleets and the overview, filtered by scope in SQL."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.transport.handlers import ACTIVE, ManifestView, Scope, Uow, load_view, scoped
from services.transport.models import Manifest, Transfer, Vehicle
from shared.audit import record_accesses
from shared.errors import NotFound
from shared.web.auth import Principal


async def list_vehicles(uow: Uow, *, scope: Scope) -> list[tuple[Vehicle, str | None]]:
    """Vehicles with the status of the manifest holding them, if any."""
    busy = select(Manifest.vehicle_id, Manifest.status).where(Manifest.status.in_(ACTIVE)).subquery()
    query = select(Vehicle, busy.c.status).outerjoin(busy, busy.c.vehicle_id == Vehicle.id)
    if scope is not None:
        query = query.where(Vehicle.origin_province.in_(scope))
    rows = (await uow.session.execute(query.order_by(Vehicle.origin_province, Vehicle.plate))).all()
    return [(v, s) for v, s in rows]


async def _audit_shown(uow: Uow, viewer: Principal | None, action: str, returnee_ids) -> None:
    """Passengers' names are personal data: each returnee a read shows goes into the trail, ids only."""
    if viewer is not None:
        ids = list(dict.fromkeys(returnee_ids))
        await record_accesses(uow, principal=viewer, action=action, object_type="returnee", object_ids=ids)


async def get_manifest(
    uow: Uow, *, manifest_id: UUID, scope: Scope, viewer: Principal | None = None
) -> ManifestView:
    query = scoped(
        select(Manifest).where(Manifest.id == manifest_id),
        scope,
        Manifest.origin_province,
        Manifest.destination_province,
    )
    manifest = (await uow.session.execute(query)).scalar_one_or_none()
    if manifest is None:
        raise NotFound("manifest")
    view = await load_view(uow.session, manifest)
    await _audit_shown(uow, viewer, "read", (p.returnee_id for p in view.passengers))
    return view


async def list_manifests(
    uow: Uow, *, status: str | None, scope: Scope, viewer: Principal | None = None
) -> list[ManifestView]:
    query = scoped(select(Manifest), scope, Manifest.origin_province, Manifest.destination_province)
    if status:
        query = query.where(Manifest.status == status)
    manifests = (await uow.session.execute(query.order_by(Manifest.created_at))).scalars().all()
    views = [await load_view(uow.session, m) for m in manifests]
    await _audit_shown(uow, viewer, "list", (p.returnee_id for v in views for p in v.passengers))
    return views


async def get_transfer(
    uow: Uow, *, returnee_id: UUID, scope: Scope, viewer: Principal | None = None
) -> Transfer:
    query = scoped(
        select(Transfer).where(Transfer.returnee_id == returnee_id),
        scope,
        Transfer.origin_province,
        Transfer.destination_province,
    )
    transfer = (await uow.session.execute(query)).scalar_one_or_none()
    if transfer is None:
        raise NotFound("transfer")
    await _audit_shown(uow, viewer, "read", [transfer.returnee_id])
    return transfer


@dataclass
class Overview:
    now: datetime
    waiting: list[dict]  # per origin -> destination: how many wait, since when
    not_ready: list[dict]  # per destination: still in quarantine, or held
    manifests: list[ManifestView]  # proposed, confirmed and dispatched
    missing: list[Transfer]
    too_large: list[dict]  # waiting households bigger than any vehicle of their border province


async def overview(uow: Uow, *, scope: Scope, viewer: Principal | None = None) -> Overview:
    """Who waits for which province, what is on the road and when it should arrive, who went missing."""
    cols = (Transfer.origin_province, Transfer.destination_province)
    session = uow.session
    waiting = await session.execute(
        scoped(
            select(*cols, func.count(), func.min(Transfer.ready_since)).where(Transfer.ready.is_(True)),
            scope,
            *cols,
        ).group_by(*cols)
    )
    held = Transfer.held_reason.is_not(None)
    not_ready = await session.execute(
        scoped(
            select(Transfer.destination_province, held, func.count()).where(
                Transfer.stage == "waiting", Transfer.ready.is_(False)
            ),
            scope,
            *cols,
        ).group_by(Transfer.destination_province, held)
    )
    manifests = await session.execute(
        scoped(
            select(Manifest).where(Manifest.status.in_(ACTIVE)),
            scope,
            Manifest.origin_province,
            Manifest.destination_province,
        ).order_by(Manifest.expected_arrival, Manifest.created_at)
    )
    views = [await load_view(session, m) for m in manifests.scalars().all()]
    missing = await session.execute(
        scoped(select(Transfer).where(Transfer.stage == "missing"), scope, *cols).order_by(
            Transfer.updated_at
        )
    )
    too_large = await _households_too_large(session, scope)
    missing = list(missing.scalars())
    shown = [p.returnee_id for v in views for p in v.passengers] + [t.returnee_id for t in missing]
    await _audit_shown(uow, viewer, "list", shown)
    return Overview(
        now=uow.now(),
        too_large=too_large,
        waiting=[
            {"origin": o, "destination": d, "count": n, "since": since} for o, d, n, since in waiting.all()
        ],
        not_ready=[{"destination": d, "held": h, "count": n} for d, h, n in not_ready.all()],
        manifests=views,
        missing=missing,
    )


async def _households_too_large(session: AsyncSession, scope: Scope) -> list[dict]:
    cols = (Transfer.origin_province, Transfer.destination_province, Transfer.household_id)
    sizes = await session.execute(
        scoped(
            select(*cols, func.count()).where(Transfer.ready.is_(True), Transfer.household_id.is_not(None)),
            scope,
            Transfer.origin_province,
            Transfer.destination_province,
        ).group_by(*cols)
    )
    largest = dict(
        (
            await session.execute(
                select(Vehicle.origin_province, func.max(Vehicle.seats)).group_by(Vehicle.origin_province)
            )
        ).all()
    )
    return [
        {"origin": o, "destination": d, "household_id": h, "size": n, "largest_vehicle": largest.get(o, 0)}
        for o, d, h, n in sizes.all()
        if o in largest and n > largest[o]  # no fleet at all is another problem, shown by the waiting list
    ]
