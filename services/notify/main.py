"""Wiring of the notify service: the app factory and the console entry point `border-notify`."""

from pathlib import Path

from fastapi import FastAPI

from services.notify.api import router
from services.notify.consumer import subscriptions
from services.notify.settings import Settings
from shared.cli import service_cli
from shared.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        title="Notify: commune follow-up by SMS and webhooks",
        routers=[router],
        subscriptions=subscriptions,
    )


run = service_cli(Settings, create_app, MIGRATIONS)
