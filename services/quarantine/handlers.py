"""Use cases of the quarantine service: each change of state and its events in one transaction."""

import logging
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.quarantine import domain, placement
from services.quarantine.models import (
    ACTIVE,
    CapacityUpdate,
    Checkin,
    Episode,
    Facility,
    FacilityCreate,
    Status,
    Supply,
    SupplyUpdate,
)
from services.quarantine.settings import Settings
from shared.clock import CAMBODIA
from shared.contracts.intake import QuarantinePolicy, ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.notify import SelfIsolationCheckin
from shared.contracts.quarantine import (
    CheckinRecorded,
    QuarantineCompleted,
    ReferralCleared,
    SymptomsReported,
)
from shared.contracts.transport import HandedOver
from shared.errors import Conflict, Forbidden, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Principal, Role

log = logging.getLogger(__name__)

Uow = UnitOfWork[Settings]


async def episode_of(session: AsyncSession, returnee_id: UUID, *, lock: bool = False) -> Episode | None:
    query = select(Episode).where(Episode.returnee_id == returnee_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


# --- from intake and transport -------------------------------------------------------------------------


def _province_of(checkpoint_id: str, home_village_code: str) -> str:
    checkpoint = load_gazetteer().checkpoint(checkpoint_id)
    return checkpoint.province_code if checkpoint else home_village_code[:2]


async def open_episode(uow: Uow, *, event: ReturneeRegistered) -> None:
    """Open the returnee's episode by the policy decided at registration; a replay changes nothing."""
    session = uow.session
    existing = await episode_of(session, event.returnee_id)
    if existing is not None:
        if not existing.checkpoint_id:  # opened early by a hand-over: fill in what it lacked
            _apply_snapshot(existing, event)
            existing.province_code = _province_of(event.checkpoint_id, event.home_village_code)
        return
    episode = Episode(
        id=uuid4(),
        returnee_id=event.returnee_id,
        mode=event.policy.value,
        status=Status.awaiting_handover,
        checkpoint_id=event.checkpoint_id,
        province_code=_province_of(event.checkpoint_id, event.home_village_code),
        home_village_code=event.home_village_code,
        created_at=uow.now(),
    )
    _apply_snapshot(episode, event)
    session.add(episode)
    await session.flush()
    if event.policy == QuarantinePolicy.home:
        return  # starts when transport hands the returnee over at home
    sites = await placement.lock_sites(session, episode.province_code)
    if not await placement.place(uow, episode, sites):
        await placement.wait(uow, episode)


def _apply_snapshot(episode: Episode, event: ReturneeRegistered | ReturneeCorrected) -> None:
    episode.household_id = event.household_id
    episode.name_km = event.name_km
    episode.name_latin = event.name_latin
    episode.sex = event.sex.value
    episode.age_years = event.age_years
    episode.special_care = [c.value for c in event.special_care]
    episode.home_village_code = event.home_village_code
    episode.checkpoint_id = event.checkpoint_id


async def correct_episode(uow: Uow, *, event: ReturneeCorrected) -> None:
    """Keep the episode's copy of the registration current; a placement already made stands."""
    episode = await episode_of(uow.session, event.returnee_id)
    if episode is None or episode.status == Status.completed:
        return
    _apply_snapshot(episode, event)


async def refer(uow: Uow, *, event: ReturneeReferred) -> None:
    """Hold the returnee for health care: no release (nor, under policy=home, transport) until cleared."""
    episode = await episode_of(uow.session, event.returnee_id, lock=True)
    if episode is None:
        # Registration and referral share a partition, so this means a lost registration: dead-letter it.
        raise LookupError("referral for a returnee without an episode")
    _hold(episode, reason="referred at registration", at=event.referred_at)


def _hold(episode: Episode, *, reason: str, at: datetime) -> None:
    episode.referred = True
    episode.referral_reason = reason
    episode.referred_at = at
    episode.cleared_at = None
    episode.cleared_by = None


async def start_home_episode(uow: Uow, *, event: HandedOver) -> None:
    """Under policy=home the 14 days start on the day of hand-over (Cambodian date)."""
    episode = await episode_of(uow.session, event.returnee_id, lock=True)
    if episode is None:
        # The hand-over overtook the registration (another topic): open it now, the registration fills in.
        episode = Episode(
            id=uuid4(),
            returnee_id=event.returnee_id,
            mode=QuarantinePolicy.home.value,
            status=Status.awaiting_handover,
            checkpoint_id="",
            province_code=event.home_village_code[:2],
            home_village_code=event.home_village_code,
            created_at=uow.now(),
        )
        uow.session.add(episode)
    if episode.mode != QuarantinePolicy.home or episode.status != Status.awaiting_handover:
        return  # policy=border: the returnee already did the 14 days
    await placement.start(uow, episode, Status.home, event.handed_over_at.astimezone(CAMBODIA).date())


async def commune_checkin(uow: Uow, *, event: SelfIsolationCheckin) -> None:
    """A commune's SMS report on a returnee isolating at home."""
    episode = await episode_of(uow.session, event.returnee_id, lock=True)
    if episode is None or episode.status != Status.home:
        log.info("commune check-in for no open home episode, ignored")
        return
    await _record(
        uow,
        episode,
        temperature_c=None,
        symptoms=event.symptoms,
        at=event.reported_at,
        source="commune",
        by=None,
    )


# --- check-ins and clearance ---------------------------------------------------------------------------


async def _record(
    uow: Uow,
    episode: Episode,
    *,
    temperature_c: float | None,
    symptoms: list[str],
    at: datetime,
    source: str,
    by: str | None,
) -> Checkin:
    found = domain.symptoms_of(temperature_c, symptoms, uow.settings.fever_threshold_c)
    day = max(1, domain.day_number(episode.starts_on, at.astimezone(CAMBODIA).date()))
    checkin = Checkin(
        episode_id=episode.id,
        day=day,
        recorded_at=at,
        temperature_c=temperature_c,
        symptoms=found,
        clear=not found,
        source=source,
        recorded_by=by,
    )
    uow.session.add(checkin)
    ids = placement.episode_ids(episode)
    recorded = CheckinRecorded(
        **ids, day=day, temperature_c=temperature_c, symptoms=found, recorded_at=at, source=source
    )
    await uow.emit(recorded)
    if found:
        _hold(episode, reason="symptoms at check-in", at=at)
        reported = SymptomsReported(**ids, symptoms=found, temperature_c=temperature_c, reported_at=at)
        await uow.emit(reported)
    await uow.session.flush()
    return checkin


async def _scoped_episode(session: AsyncSession, episode_id: UUID, scope: ColumnElement[bool]) -> Episode:
    episode = (
        await session.execute(select(Episode).where(Episode.id == episode_id, scope).with_for_update())
    ).scalar_one_or_none()
    if episode is None:
        raise NotFound("episode not found")
    return episode


async def record_checkin(
    uow: Uow,
    *,
    episode_id: UUID,
    scope: ColumnElement[bool],
    temperature_c: float,
    symptoms: list[str],
    by: str,
) -> Checkin:
    """Facility staff's daily check of one returnee; refused unless the episode is running."""
    episode = await _scoped_episode(uow.session, episode_id, scope)
    if episode.status not in ACTIVE:
        raise Conflict(f"episode_id: episode is {episode.status}: check-ins are taken only while it runs")
    return await _record(
        uow,
        episode,
        temperature_c=temperature_c,
        symptoms=symptoms,
        at=uow.now(),
        source="facility",
        by=by,
    )


async def clear_referral(uow: Uow, *, episode_id: UUID, scope: ColumnElement[bool], by: str) -> Episode:
    """Health staff's clearance of a referred returnee, recorded by who gave it and when."""
    episode = await _scoped_episode(uow.session, episode_id, scope)
    if not episode.referred:
        raise Conflict("episode_id: episode is not referred")
    episode.referred = False
    episode.cleared_at = uow.now()
    episode.cleared_by = by
    await uow.emit(ReferralCleared(**placement.episode_ids(episode), cleared_at=episode.cleared_at))
    return episode


# --- the scheduler's work (main.py runs each step in a transaction of its own) ---------------------------


async def checks_of(session: AsyncSession, episode_ids: list[UUID]) -> dict[UUID, list[Checkin]]:
    """Check-ins of these episodes, oldest first."""
    found: dict[UUID, list[Checkin]] = {i: [] for i in episode_ids}
    if episode_ids:
        rows = await session.execute(
            select(Checkin)
            .where(Checkin.episode_id.in_(episode_ids))
            .order_by(Checkin.recorded_at, Checkin.id)
        )
        for checkin in rows.scalars():
            found[checkin.episode_id].append(checkin)
    return found


def release_blocker(settings: Settings, episode: Episode, checkins: list[Checkin], today: date) -> str | None:
    """Why this episode may not be released today (None: it may)."""
    if episode.status not in ACTIVE:
        return f"episode is {episode.status}"
    checks = [domain.Check(episode.starts_on + timedelta(days=c.day - 1), c.clear) for c in checkins]
    return domain.release_blocker(
        today=today,
        release_on=episode.ends_on,
        referred=episode.referred,
        checks=checks,
        window_days=settings.final_checkin_days,
        require_final_checkin=settings.require_final_checkin,
    )


async def release(uow: Uow, *, episode_id: UUID, today: date) -> str | None:
    """Complete one episode after checking again under its row lock; the freed bed's province, if any."""
    session = uow.session
    episode = (
        await session.execute(select(Episode).where(Episode.id == episode_id).with_for_update())
    ).scalar_one()
    checks = (await checks_of(session, [episode_id]))[episode_id]
    if release_blocker(uow.settings, episode, checks, today) is not None:
        return None
    if episode.facility_id:
        await placement.free_bed(session, episode.facility_id)
    episode.status = Status.completed
    episode.completed_on = today
    await uow.emit(
        QuarantineCompleted(
            **placement.episode_ids(episode),
            mode=QuarantinePolicy(episode.mode),
            completed_on=today,
        )
    )
    return episode.province_code if episode.facility_id else None


async def place_waiting(uow: Uow, *, province_code: str) -> int:
    """Give the province's free beds to its waiting returnees, first come first served."""
    session = uow.session
    sites = await placement.lock_sites(session, province_code)
    waiting = (
        (
            await session.execute(
                select(Episode)
                .where(Episode.province_code == province_code, Episode.status == Status.waiting)
                .order_by(Episode.waiting_since, Episode.id)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    placed = 0
    for episode in waiting:
        if not any(s.free > 0 for s in sites.values()):
            break
        if await placement.place(uow, episode, sites):
            placed += 1
    return placed


# --- facilities ---------------------------------------------------------------------------------------


async def add_facility(uow: Uow, *, principal: Principal, request: FacilityCreate) -> Facility:
    """A new site of a province the caller manages; `place_waiting` then gives its beds to whoever waits."""
    if not principal.is_national and request.province_code not in principal.scopes(Role.provincial_wg):
        raise Forbidden("province_code: not your province")
    if await uow.session.get(Facility, request.id) is not None:
        raise Conflict("id: a facility with this id exists")
    facility = Facility(**request.model_dump(mode="json"), occupancy=0, created_at=uow.now())
    uow.session.add(facility)
    return facility


async def set_supply(
    uow: Uow, *, facility_id: str, scope: ColumnElement[bool], item: str, data: SupplyUpdate
) -> Supply:
    """Record what a facility holds of one item now (a count taken, not a delta)."""
    session = uow.session
    facility = (await session.execute(select(Facility.id).where(Facility.id == facility_id, scope))).first()
    if facility is None:
        raise NotFound("facility not found")
    supply = await session.get(Supply, (facility_id, item), with_for_update=True)
    if supply is None:
        supply = Supply(facility_id=facility_id, item=item, **data.model_dump(), updated_at=uow.now())
        session.add(supply)
    else:
        supply.sqlmodel_update(data.model_dump())
        supply.updated_at = uow.now()
    return supply


async def set_capacity(
    uow: Uow, *, facility_id: str, scope: ColumnElement[bool], data: CapacityUpdate
) -> Facility:
    """The beds a facility has now; never fewer than are occupied (those people are not moved)."""
    facility = (
        await uow.session.execute(select(Facility).where(Facility.id == facility_id, scope).with_for_update())
    ).scalar_one_or_none()
    if facility is None:
        raise NotFound("facility not found")
    if data.capacity < facility.occupancy:
        raise Conflict(f"capacity: {facility.occupancy} beds are occupied")
    facility.capacity = data.capacity
    return facility
