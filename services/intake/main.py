"""Wiring of the intake service: the app factory and the console entry point `border-intake`."""

import asyncio
from pathlib import Path

import typer
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from services.intake.api import router, tablet
from services.intake.consumer import subscriptions
from services.intake.settings import Settings
from shared.cli import service_cli
from shared.contracts.topics import all_specs
from shared.messaging.admin import ensure_topics
from shared.migrations import upgrade
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Intake: returnee registration at the border checkpoints",
        routers=[router, tablet],
        subscriptions=subscriptions,
    )
    # The gazetteer and the page travel over 3G: compress what is worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/tablet", StaticFiles(directory=STATIC, html=True), name="tablet")
    return app


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo(
    count: int = typer.Option(60, help="About how many people to register."),
    seed: int = typer.Option(1007, help="Random seed, for a repeatable demo."),
) -> None:
    """Register made-up returnees (households, a few fevers) and publish their events."""
    from services.intake.demo import seed as seed_returnees

    settings = Settings()
    upgrade(MIGRATIONS, settings.database_url)

    async def go() -> int:
        await ensure_topics(settings.kafka_bootstrap_servers, all_specs(settings.topic_prefix))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            return await seed_returnees(app.state.runtime, count=count, seed=seed)

    typer.echo(f"{asyncio.run(go())} returnees registered")
