"""Wiring of the transport service: the app factory and the console entry point `border-transport`."""

from pathlib import Path

from fastapi import FastAPI

from services.transport.api import router
from services.transport.consumer import subscriptions
from services.transport.settings import Settings
from shared.cli import service_cli
from shared.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        title="Transport: transfers from the border to the home province",
        routers=[router],
        subscriptions=subscriptions,
    )


run = service_cli(Settings, create_app, MIGRATIONS)
