"""Wiring of the quarantine service: the app factory and the console entry point `border-quarantine`."""

from pathlib import Path

from fastapi import FastAPI

from services.quarantine.api import router
from services.quarantine.consumer import subscriptions
from services.quarantine.settings import Settings
from shared.cli import service_cli
from shared.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        title="Quarantine: facilities, episodes and daily check-ins",
        routers=[router],
        subscriptions=subscriptions,
    )


run = service_cli(Settings, create_app, MIGRATIONS)
