"""Wiring of the dashboard service: the app factory and the console entry point `border-dashboard`."""

import asyncio
from pathlib import Path

import typer
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from services.dashboard import handlers
from services.dashboard.api import router
from services.dashboard.consumer import subscriptions
from services.dashboard.settings import Settings
from shared.cli import service_cli
from shared.contracts.topics import TOPICS
from shared.migrations import upgrade
from shared.unit_of_work import standalone
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Dashboard: provincial statistics and the daily situation report",
        routers=[router],
        subscriptions=subscriptions,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/dashboard", StaticFiles(directory=STATIC, html=True), name="dashboard")
    return app


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command()
def rebuild() -> None:
    """Empty the read model and rewind its consumer group; the next `serve` replays every topic.

    Stop the service first (a running one rebuilds live with `POST /admin/rebuild`).
    """
    settings = Settings()
    upgrade(MIGRATIONS, settings.database_url)

    group = handlers.consumer_group(settings)

    async def go() -> int:
        async with standalone(settings) as deps:
            removed = await deps.run(handlers.clear_read_model, group=group)
        topics = [settings.topic_prefix + t.name for t in TOPICS]
        await handlers.rewind_group(settings.kafka_bootstrap_servers, group, topics)
        return removed

    typer.echo(f"read model emptied ({asyncio.run(go())} returnees); `serve` replays the topics")
