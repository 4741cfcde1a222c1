"""Many placements at once against real PostgreSQL never put more people in a site than it has beds."""

import asyncio
from uuid import uuid4

from sqlalchemy import func, select, text

from services.quarantine import handlers
from services.quarantine.models import Episode, Facility, Status
from tests.quarantine.helpers import add_facility, registered

ARRIVALS = 40


async def _warm_pool(engine, size: int) -> None:
    """Open the pool's connections first, so the arrivals overlap instead of queueing on connects."""

    async def hold() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(0.2)"))

    await asyncio.gather(*(hold() for _ in range(size)))


async def test_concurrent_placements_never_overfill_a_facility(stack):
    quarantine = await stack.start("quarantine", scheduler_seconds=3600, consumer_enabled=False)
    rt = quarantine.runtime
    await add_facility(quarantine, "QF-A", capacity=7, lat=13.66, lon=102.55)
    await add_facility(quarantine, "QF-B", capacity=5, lat=13.56, lon=102.38)
    households = [uuid4() for _ in range(5)]
    events = [registered(household=households[i % 5] if i % 3 == 0 else None) for i in range(ARRIVALS)]

    await _warm_pool(rt.engine, 20)

    await asyncio.gather(*(rt.deps.run(handlers.open_episode, event=e) for e in events))

    async with rt.sessions() as session:
        facilities = {f.id: f for f in (await session.execute(select(Facility))).scalars()}
        placed = dict(
            (
                await session.execute(
                    select(Episode.facility_id, func.count())
                    .where(Episode.status == Status.placed)
                    .group_by(Episode.facility_id)
                )
            ).all()
        )
        waiting = (
            await session.execute(select(func.count()).where(Episode.status == Status.waiting))
        ).scalar_one()
        together = (
            await session.execute(
                select(Episode.household_id, func.count(func.distinct(Episode.facility_id)))
                .where(Episode.household_id.is_not(None), Episode.status == Status.placed)
                .group_by(Episode.household_id)
            )
        ).all()
    assert {f.id: f.occupancy for f in facilities.values()} == {"QF-A": 7, "QF-B": 5}
    assert placed == {"QF-A": 7, "QF-B": 5}
    assert waiting == ARRIVALS - 12
    assert all(sites == 1 for _, sites in together)
