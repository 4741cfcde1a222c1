"""Wiring of the identity service: the app factory and the console entry point `border-identity`."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.identity.api import router
from services.identity.cli import add_user_commands
from services.identity.jwks import router as jwks_router
from services.identity.keys import add_key_commands
from services.identity.settings import Settings
from shared.cli import service_cli
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings, title="Identity: users, passwords and tokens", routers=[router, jwks_router]
    )
    app.state.issuer_keys = settings.issuer_keys
    # Each service's pages post their login form here from another port; bearer tokens, no cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    return app


run = service_cli(Settings, create_app, MIGRATIONS)
add_user_commands(run)
add_key_commands(run)
