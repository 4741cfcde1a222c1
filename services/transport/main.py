"""Wiring of the transport service: the app factory and the console entry point `border-transport`."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from services.transport import autodispatch, handlers
from services.transport.api import router
from services.transport.consumer import subscriptions
from services.transport.demo import MIGRATIONS, seed_demo
from services.transport.settings import Settings
from shared.cli import service_cli
from shared.service import Runtime, create_service_app

STATIC = Path(__file__).parent / "static"

_STATUS = {handlers.NotFound: 404, handlers.Conflict: 409, handlers.Invalid: 422}


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Transport: transfers from the border to the home province",
        routers=[router],
        subscriptions=subscriptions,
        background=_background(settings),
    )
    for exc_class, status in _STATUS.items():
        app.add_exception_handler(exc_class, _error(status))
    # The transfer working group's page: static files, no CDN; it reads /overview with a bearer token.
    app.mount("/transport", StaticFiles(directory=STATIC, html=True), name="transport-page")
    return app


def _error(status: int):
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        detail = [str(a) for a in exc.args] or [type(exc).__name__]
        return JSONResponse({"detail": detail if len(detail) > 1 else detail[0]}, status_code=status)

    return handle


def _background(settings: Settings):
    """The demo's auto-dispatch rounds, when switched on; supervised and stopped with the runtime."""

    def loops(rt: Runtime) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        if not settings.auto_dispatch:
            return []
        rounds = partial(
            autodispatch.run_forever,
            rt,
            max_wait=timedelta(minutes=settings.auto_dispatch_max_wait_minutes),
            interval=settings.auto_dispatch_interval_seconds,
        )
        return [("auto-dispatch", rounds)]

    return loops


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo_command() -> None:
    """Register a few demo vehicles in every border province (safe to run again)."""
    added = asyncio.run(seed_demo(Settings()))
    typer.echo(f"demo vehicles ready ({added} added)")
