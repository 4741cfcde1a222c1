"""Wiring of the quarantine service: the app factory and the console entry point `border-quarantine`."""

import asyncio
from functools import partial
from pathlib import Path

import typer
from fastapi import FastAPI
from sqlalchemy import select

from services.quarantine import demo, handlers
from services.quarantine.api import router
from services.quarantine.consumer import subscriptions
from services.quarantine.models import Facility
from services.quarantine.settings import Settings
from shared import metrics
from shared.cli import service_cli
from shared.clock import Clock
from shared.db import make_engine, make_sessionmaker
from shared.liveness import progressed
from shared.migrations import upgrade
from shared.service import Runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


async def run_scheduler(rt: Runtime) -> None:
    """Release finished episodes and give freed beds to waiting returnees, every few seconds.

    Each step is its own transaction and is checked again on the next tick, so a crash (the frame
    restarts the loop) leaves nothing half done.
    """
    while True:
        await handlers.release_due(rt)
        await handlers.place_waiting(rt)
        progressed()
        await asyncio.sleep(rt.settings.scheduler_seconds)


async def refresh_occupancy(rt: Runtime) -> None:
    """Beds and occupancy of every facility, read into the gauges when /metrics is scraped."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Facility.id, Facility.province_code, Facility.capacity, Facility.occupancy)
            )
        ).all()
    for facility_id, province, capacity, occupancy in rows:
        metrics.FACILITY_CAPACITY.labels(province, facility_id).set(capacity)
        metrics.FACILITY_OCCUPANCY.labels(province, facility_id).set(
            occupancy / capacity if capacity else 0.0
        )


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        title="Quarantine: facilities, episodes and daily check-ins",
        routers=[router],
        subscriptions=subscriptions,
        background=lambda rt: [("quarantine-scheduler", partial(run_scheduler, rt))],
        refreshers=lambda rt: [partial(refresh_occupancy, rt)],
    )


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo() -> None:
    """Add the demo quarantine sites (2-3 per border province) that are missing; safe to run again."""
    settings = Settings()
    upgrade(MIGRATIONS, settings.database_url)

    async def go() -> int:
        engine = make_engine(settings.database_url)
        try:
            now = Clock(settings.clock_speed, settings.clock_epoch).now()
            return await demo.seed(make_sessionmaker(engine), now)
        finally:
            await engine.dispose()

    typer.echo(f"demo facilities ready ({asyncio.run(go())} added)")
