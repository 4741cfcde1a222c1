"""Wiring of the quarantine service: the app factory and the console entry point `border-quarantine`."""

import asyncio
from functools import partial
from pathlib import Path

import typer
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from services.quarantine import demo, handlers, metrics, queries
from services.quarantine.api import page, router
from services.quarantine.consumer import subscriptions
from services.quarantine.settings import Settings
from shared.cli import service_cli
from shared.liveness import progressed
from shared.migrations import upgrade
from shared.unit_of_work import Deps, standalone
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


async def release_due(deps: Deps[Settings]) -> int:
    """Release every episode whose quarantine is over and whose last check-ins were clear, then give the
    freed beds to whoever waits.

    One transaction per release and per province: a release then locks a single facility row, and cannot
    deadlock with a placement locking the province's rows in id order.
    """
    today = deps.clock.today()
    ready = await deps.run(queries.releasable, today=today)
    provinces = set()
    for episode_id in ready:
        if province := await deps.run(handlers.release, episode_id=episode_id, today=today):
            provinces.add(province)
    for province in sorted(provinces):
        await deps.run(handlers.place_waiting, province_code=province)
    return len(ready)


async def place_waiting(deps: Deps[Settings]) -> int:
    """Give free beds to waiting returnees, first come first served, one transaction per province."""
    placed = 0
    for province in await deps.run(queries.waiting_provinces):
        placed += await deps.run(handlers.place_waiting, province_code=province)
    return placed


async def run_scheduler(deps: Deps[Settings]) -> None:
    """Release finished episodes and give freed beds to waiting returnees, every few seconds.

    Each step is its own transaction and is checked again on the next tick, so a crash (the frame
    restarts the loop) leaves nothing half done.
    """
    while True:
        await release_due(deps)
        await place_waiting(deps)
        progressed()
        await asyncio.sleep(deps.settings.scheduler_seconds)


async def refresh_occupancy(deps: Deps[Settings]) -> None:
    """Beds and occupancy of every facility, read into the gauges when /metrics is scraped."""
    for facility_id, province, capacity, occupancy in await deps.run(queries.occupancy):
        metrics.FACILITY_CAPACITY.labels(province, facility_id).set(capacity)
        metrics.FACILITY_OCCUPANCY.labels(province, facility_id).set(
            occupancy / capacity if capacity else 0.0
        )


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Quarantine: facilities, episodes and daily check-ins",
        routers=[router, page],
        subscriptions=subscriptions,
        background=lambda deps: [("quarantine-scheduler", partial(run_scheduler, deps))],
        refreshers=lambda deps: [partial(refresh_occupancy, deps)],
    )
    # Facility staff often work over a weak mobile connection: compress the page and the lists.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # The config and words routes are matched first; everything else under /quarantine is the staff page.
    app.mount("/quarantine", StaticFiles(directory=STATIC, html=True), name="quarantine-page")
    return app


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo() -> None:
    """Add the demo quarantine sites (2-3 per border province) that are missing; safe to run again."""
    settings = Settings()
    upgrade(MIGRATIONS, settings.database_url)

    async def go() -> int:
        async with standalone(settings) as deps:
            return await deps.run(demo.add_sites)

    typer.echo(f"demo facilities ready ({asyncio.run(go())} added)")
