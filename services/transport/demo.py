"""Demo data: a small fleet in every border province, so the local run can move people at once."""

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from services.transport.handlers import Uow
from services.transport.models import Vehicle
from services.transport.settings import Settings
from shared.geo.gazetteer import load_gazetteer
from shared.migrations import upgrade
from shared.unit_of_work import standalone

MIGRATIONS = Path(__file__).parent / "migrations"

# (seats, driver, escort) of the vehicles each border province gets; invented people, no real data.
FLEET = [
    (12, "Sok Dara", "Chan Sophea"),
    (30, "Keo Vuthy", "Lim Srey Neang"),
    (12, "Heng Rithy", "Nhem Bopha"),
]


def demo_vehicles(now: datetime) -> list[Vehicle]:
    """The demo fleet; plates are fixed so a second seeding adds nothing."""
    provinces = sorted({c.province_code for c in load_gazetteer().checkpoints()})
    return [
        Vehicle(
            plate=f"DEMO-{code}-{n + 1}",
            seats=seats,
            driver=driver,
            escort=escort,
            origin_province=code,
            registered_at=now,
        )
        for code in provinces
        for n, (seats, driver, escort) in enumerate(FLEET)
    ]


async def add_demo_vehicles(uow: Uow) -> int:
    """Add the demo vehicles that are not there yet; returns how many were added."""
    known = set((await uow.session.scalars(select(Vehicle.plate))).all())
    new = [v for v in demo_vehicles(uow.now()) if v.plate not in known]
    uow.session.add_all(new)
    return len(new)


async def seed_demo(settings: Settings) -> int:
    """Migrate the database, then add the demo vehicles; returns how many were added."""
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    async with standalone(settings) as deps:
        return await deps.run(add_demo_vehicles)
