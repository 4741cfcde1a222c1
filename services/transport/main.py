"""Wiring of the transport service: the app factory and the console entry point `border-transport`."""

import asyncio
from functools import partial
from pathlib import Path

import typer
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.transport import autodispatch
from services.transport.api import router
from services.transport.consumer import subscriptions
from services.transport.demo import MIGRATIONS, seed_demo
from services.transport.settings import Settings
from shared.cli import service_cli
from shared.unit_of_work import Deps
from shared.web.service import Background, create_service_app

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Transport: transfers from the border to the home province",
        routers=[router],
        subscriptions=subscriptions,
        background=_background,
    )
    # The transfer working group's page: static files, no CDN; it reads /overview with a bearer token.
    app.mount("/transport", StaticFiles(directory=STATIC, html=True), name="transport-page")
    return app


def _background(deps: Deps[Settings]) -> list[Background]:
    """The demo's auto-dispatch rounds, when switched on; supervised and stopped with the service."""
    if not deps.settings.auto_dispatch:
        return []
    return [("auto-dispatch", partial(autodispatch.run_forever, deps))]


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo_command() -> None:
    """Register a few demo vehicles in every border province (safe to run again)."""
    added = asyncio.run(seed_demo(Settings()))
    typer.echo(f"demo vehicles ready ({added} added)")
