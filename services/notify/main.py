"""Wiring of the notify service: the app factory and the console entry point `border-notify`."""

from pathlib import Path

from fastapi import FastAPI

from services.notify import cli
from services.notify.api import router
from services.notify.consumer import subscriptions
from services.notify.settings import Settings
from services.notify.worker import DeliveryWorker, run_scanner
from shared.cli import service_cli
from shared.service import Runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    app: FastAPI

    def background(rt: Runtime):
        worker = DeliveryWorker(rt.sessions, settings, rt.clock, rt.source)
        app.state.delivery_worker = worker  # tests and the benchmark wake it or watch it

        async def scanner() -> None:
            await run_scanner(rt.sessions, settings=settings, clock=rt.clock, source=rt.source)

        return [("delivery-worker", worker.run), ("followup-scanner", scanner)]

    app = create_service_app(
        settings,
        title="Notify: commune follow-up by SMS and webhooks",
        routers=[router],
        subscriptions=subscriptions,
        background=background,
    )
    return app


run = service_cli(Settings, create_app, MIGRATIONS)
cli.add_commands(run, Settings, MIGRATIONS)
