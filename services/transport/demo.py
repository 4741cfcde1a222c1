"""Demo data: a small fleet in every border province, so the local run can move people at once."""

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from services.transport.models import Vehicle
from shared.clock import Clock
from shared.db import make_engine, make_sessionmaker
from shared.gazetteer import load_gazetteer
from shared.migrations import upgrade
from shared.settings import ServiceSettings

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


async def seed_demo(settings: ServiceSettings) -> int:
    """Add the demo vehicles that are not there yet; returns how many were added."""
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            known = set((await session.scalars(select(Vehicle.plate))).all())
            now = Clock(settings.clock_speed, settings.clock_epoch).now()
            new = [v for v in demo_vehicles(now) if v.plate not in known]
            session.add_all(new)
        return len(new)
    finally:
        await engine.dispose()
