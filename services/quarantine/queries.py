"""Who sees what (as SQL conditions) and the read models the API returns."""

from datetime import date
from uuid import UUID

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from services.quarantine import domain
from services.quarantine.handlers import Uow, checks_of, release_blocker
from services.quarantine.models import (
    ACTIVE,
    Checkin,
    CheckinRead,
    Episode,
    EpisodeDetail,
    EpisodeRead,
    Facility,
    FacilityRead,
    Status,
    Supply,
    SupplyRead,
)
from services.quarantine.settings import Settings
from shared.audit import record_access, record_accesses
from shared.errors import NotFound
from shared.scope import scoped, under
from shared.web.auth import Principal, Role

REFERRED = "referred"  # a filter over `Episode.referred`, offered next to the statuses


GEO_READERS = (Role.provincial_wg, Role.district_officer, Role.commune_chief)


def _any(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*conditions) if conditions else false()


def facility_scope(principal: Principal) -> ColumnElement[bool]:
    """Facilities the caller may see: their own (staff), their province's (working group), or all."""
    if principal.is_national:
        return true()
    conditions = []
    if ids := principal.scopes(Role.facility_staff):
        conditions.append(Facility.id.in_(sorted(ids)))
    if provinces := principal.scopes(Role.provincial_wg):
        conditions.append(Facility.province_code.in_(sorted(provinces)))
    return _any(conditions)


def _placed_with(principal: Principal) -> list[ColumnElement[bool]]:
    """Episodes at the caller's facility (staff) or placed in their province (working group)."""
    conditions = []
    if ids := principal.scopes(Role.facility_staff):
        conditions.append(Episode.facility_id.in_(sorted(ids)))
    if provinces := principal.scopes(Role.provincial_wg):
        conditions.append(Episode.province_code.in_(sorted(provinces)))
    return conditions


def episode_scope(principal: Principal) -> ColumnElement[bool]:
    """Episodes the caller may read: in their facility or province, or of returnees of their area."""
    if principal.is_national:
        return true()
    areas = scoped(Episode.home_village_code, principal, *GEO_READERS)
    return _any([*_placed_with(principal), areas])


def checkin_scope(principal: Principal) -> ColumnElement[bool]:
    """Episodes the caller may record check-ins for: their facility's, or home ones of their commune."""
    if principal.is_national:
        return true()
    conditions = []
    if ids := principal.scopes(Role.facility_staff):
        conditions.append(Episode.facility_id.in_(sorted(ids)))
    if communes := principal.scopes(Role.commune_chief):
        conditions.append(and_(Episode.mode == "home", under(Episode.home_village_code, communes)))
    return _any(conditions)


def clearance_scope(principal: Principal) -> ColumnElement[bool]:
    """Episodes whose referral the caller may clear: facility staff and the provincial working group."""
    if principal.is_national:
        return true()
    home_province = under(Episode.home_village_code, principal.scopes(Role.provincial_wg))
    return _any([*_placed_with(principal), home_province])


# --- facilities -----------------------------------------------------------------------------------------


def _facility_read(facility: Facility, supplies: list[Supply]) -> FacilityRead:
    stock = [
        SupplyRead(
            item=s.item,
            quantity=s.quantity,
            unit=s.unit,
            low_threshold=s.low_threshold,
            low=s.quantity <= s.low_threshold,
            updated_at=s.updated_at,
        )
        for s in sorted(supplies, key=lambda s: s.item)
    ]
    return FacilityRead(
        **facility.model_dump(include={"id", "province_code", "name_en", "name_km", "lat", "lon"}),
        capacity=facility.capacity,
        occupancy=facility.occupancy,
        free=facility.capacity - facility.occupancy,
        special_care=facility.special_care,
        supplies=stock,
        low_stock=[s.item for s in stock if s.low],
    )


async def facilities(
    uow: Uow,
    *,
    scope: ColumnElement[bool],
    province_code: str | None = None,
    facility_id: str | None = None,
) -> list[FacilityRead]:
    session = uow.session
    query = select(Facility).where(scope).order_by(Facility.id)
    if province_code:
        query = query.where(Facility.province_code == province_code)
    if facility_id:
        query = query.where(Facility.id == facility_id)
    rows = list((await session.execute(query)).scalars())
    supplies: dict[str, list[Supply]] = {f.id: [] for f in rows}
    if rows:
        found = await session.execute(select(Supply).where(Supply.facility_id.in_(list(supplies))))
        for supply in found.scalars():
            supplies[supply.facility_id].append(supply)
    return [_facility_read(f, supplies[f.id]) for f in rows]


async def facility(uow: Uow, *, scope: ColumnElement[bool], facility_id: str) -> FacilityRead:
    found = await facilities(uow, scope=scope, facility_id=facility_id)
    if not found:
        raise NotFound("facility not found")
    return found[0]


async def occupancy(uow: Uow) -> list[tuple]:
    """(id, province, beds, occupied) of every facility, for the gauges."""
    query = select(Facility.id, Facility.province_code, Facility.capacity, Facility.occupancy)
    return [tuple(row) for row in await uow.session.execute(query)]


# --- episodes -------------------------------------------------------------------------------------------


def _episode_read(settings: Settings, episode: Episode, checkins: list[Checkin], today) -> dict:
    running = episode.starts_on is not None and episode.status in ACTIVE
    day = domain.day_number(episode.starts_on, today) if running else None
    return {
        **episode.model_dump(exclude={"referral_reason", "cleared_by", "created_at"}),
        "mode": episode.mode,
        "status": episode.status,
        "day": day,
        "checked_today": day is not None and any(c.day == day for c in checkins),
        "last_checkin": CheckinRead.model_validate(checkins[-1], from_attributes=True) if checkins else None,
        "missed_days": domain.missed_days(
            starts_on=episode.starts_on,
            today=today,
            length=settings.quarantine_days,
            checked={c.day for c in checkins},
        )
        if running
        else [],
        "release_blocked": release_blocker(settings, episode, checkins, today)
        if episode.status != Status.completed
        else None,
    }


async def episodes(
    uow: Uow,
    *,
    scope: ColumnElement[bool],
    status: str | None,
    facility_id: str | None,
    limit: int,
    offset: int,
    viewer: Principal | None = None,
) -> list[EpisodeRead]:
    query = select(Episode).where(scope)
    if status == REFERRED:
        query = query.where(Episode.referred.is_(True), Episode.status != Status.completed)
    elif status:
        query = query.where(Episode.status == status)
    if facility_id:
        query = query.where(Episode.facility_id == facility_id)
    # The queue is shown in the order beds will be given.
    order = Episode.waiting_since if status == Status.waiting else Episode.created_at
    query = query.order_by(order, Episode.id).limit(limit).offset(offset)
    rows = list((await uow.session.execute(query)).scalars())
    checks = await checks_of(uow.session, [e.id for e in rows])
    today = uow.clock.today()
    if viewer is not None:
        await record_accesses(
            uow,
            principal=viewer,
            action="list",
            object_type="returnee",
            object_ids=[e.returnee_id for e in rows],
        )
    return [EpisodeRead(**_episode_read(uow.settings, e, checks[e.id], today)) for e in rows]


async def episode_detail(
    uow: Uow,
    *,
    scope: ColumnElement[bool],
    episode_id: UUID | None = None,
    returnee_id: UUID | None = None,
    viewer: Principal | None = None,
) -> EpisodeDetail:
    query = select(Episode).where(scope)
    if episode_id is not None:
        query = query.where(Episode.id == episode_id)
    if returnee_id is not None:
        query = query.where(Episode.returnee_id == returnee_id)
    episode = (await uow.session.execute(query)).scalar_one_or_none()
    if episode is None:
        raise NotFound("episode not found")
    if viewer is not None:
        await record_access(
            uow, principal=viewer, action="read", object_type="returnee", object_id=episode.returnee_id
        )
    checkins = (await checks_of(uow.session, [episode.id]))[episode.id]
    history = [CheckinRead.model_validate(c, from_attributes=True) for c in checkins]
    return EpisodeDetail(
        **_episode_read(uow.settings, episode, checkins, uow.clock.today()), checkins=history
    )


# --- the scheduler's reads ------------------------------------------------------------------------------


async def releasable(uow: Uow, *, today: date) -> list[UUID]:
    """Episodes whose quarantine is over and whose last check-ins were clear, as of `today`."""
    due = list(
        (
            await uow.session.execute(
                select(Episode).where(Episode.status.in_(ACTIVE), Episode.ends_on <= today)
            )
        ).scalars()
    )
    checks = await checks_of(uow.session, [e.id for e in due])
    return [e.id for e in due if release_blocker(uow.settings, e, checks[e.id], today) is None]


async def waiting_provinces(uow: Uow) -> list[str]:
    """Provinces where someone waits for a bed, in order."""
    query = select(Episode.province_code).where(Episode.status == Status.waiting).distinct()
    return sorted((await uow.session.execute(query)).scalars())
