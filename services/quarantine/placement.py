"""Beds: finding one, taking and freeing it, starting or queueing the episode (in the caller's transaction).

No facility is ever overfilled, whatever runs at once: `lock_sites` serializes placements per province on
PostgreSQL, and `_take_bed` re-checks the count in its UPDATE (the table's CHECK is the last word).
"""

from dataclasses import replace
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.quarantine import domain
from services.quarantine.models import Episode, Facility, Status
from services.quarantine.settings import Settings
from shared.contracts.intake import QuarantinePolicy
from shared.contracts.quarantine import QuarantineStarted, QuarantineWaiting
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import UnitOfWork


class BedTaken(Exception):
    """A bed counted free was gone at update time; the whole transaction is retried."""


def episode_ids(episode: Episode) -> dict:
    """The fields every episode event carries."""
    return {
        "returnee_id": episode.returnee_id,
        "episode_id": episode.id,
        "home_village_code": episode.home_village_code,
    }


async def lock_sites(session: AsyncSession, province_code: str) -> dict[str, domain.Site]:
    """Lock the province's facilities, always in id order so two placements never deadlock.

    Holding these row locks serializes placements per province on PostgreSQL; the conditional UPDATE in
    `_take_bed` (and the table's CHECK) still guards SQLite, which has no row locks.
    """
    rows = (
        (
            await session.execute(
                select(Facility)
                .where(Facility.province_code == province_code)
                .order_by(Facility.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return {
        f.id: domain.Site(f.id, f.lat, f.lon, f.capacity - f.occupancy, frozenset(f.special_care))
        for f in rows
    }


async def _take_bed(session: AsyncSession, facility_id: str) -> None:
    taken = await session.execute(
        update(Facility)
        .where(Facility.id == facility_id, Facility.occupancy < Facility.capacity)
        .values(occupancy=Facility.occupancy + 1)
    )
    if taken.rowcount != 1:
        raise BedTaken(facility_id)


async def free_bed(session: AsyncSession, facility_id: str) -> None:
    await session.execute(
        update(Facility)
        .where(Facility.id == facility_id, Facility.occupancy > 0)
        .values(occupancy=Facility.occupancy - 1)
    )


async def _household_site(session: AsyncSession, episode: Episode) -> str | None:
    if episode.household_id is None:
        return None
    return (
        await session.execute(
            select(Episode.facility_id)
            .where(
                Episode.household_id == episode.household_id,
                Episode.status == Status.placed,
                Episode.id != episode.id,
            )
            .limit(1)
        )
    ).scalar_one_or_none()


def _origin(checkpoint_id: str) -> tuple[float, float] | None:
    checkpoint = load_gazetteer().checkpoint(checkpoint_id)
    if checkpoint is None or checkpoint.lat is None or checkpoint.lon is None:
        return None
    return checkpoint.lat, checkpoint.lon


async def place(uow: UnitOfWork[Settings], episode: Episode, sites: dict[str, domain.Site]) -> bool:
    """Give the episode a bed among the locked `sites` and start its quarantine; False if none fits."""
    site_id = domain.choose_site(
        list(sites.values()),
        origin=_origin(episode.checkpoint_id),
        needs=episode.special_care,
        household_site=await _household_site(uow.session, episode),
    )
    if site_id is None:
        return False
    await _take_bed(uow.session, site_id)
    sites[site_id] = replace(sites[site_id], free=sites[site_id].free - 1)
    episode.facility_id = site_id
    await start(uow, episode, Status.placed, uow.clock.today())
    return True


async def start(uow: UnitOfWork[Settings], episode: Episode, status: Status, starts_on: date) -> None:
    """Start the days of quarantine (at a facility or at home) and say so."""
    episode.status = status
    episode.starts_on = starts_on
    episode.ends_on = domain.ends_on(starts_on, uow.settings.quarantine_days)
    await uow.session.flush()
    await uow.emit(
        QuarantineStarted(
            **episode_ids(episode),
            mode=QuarantinePolicy(episode.mode),
            facility_id=episode.facility_id,
            starts_on=episode.starts_on,
            ends_on=episode.ends_on,
        )
    )


async def wait(uow: UnitOfWork[Settings], episode: Episode) -> None:
    """Queue the returnee for a bed and tell the provincial working group."""
    episode.status = Status.waiting
    episode.waiting_since = uow.now()
    await uow.session.flush()
    await uow.emit(
        QuarantineWaiting(
            **episode_ids(episode),
            province_code=episode.province_code,
            since=episode.waiting_since,
        )
    )
