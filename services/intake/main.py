"""Wiring of the intake service: the app factory and the console entry point `border-intake`."""

from pathlib import Path

from fastapi import FastAPI

from services.intake.api import router
from services.intake.consumer import subscriptions
from services.intake.settings import Settings
from shared.cli import service_cli
from shared.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        title="Intake: returnee registration at the border checkpoints",
        routers=[router],
        subscriptions=subscriptions,
    )


run = service_cli(Settings, create_app, MIGRATIONS)
