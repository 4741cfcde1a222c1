"""Swagger's Authorize on every service asks identity for the token, not the service itself."""

import importlib

import pytest

SERVICES = ["intake", "quarantine", "transport", "notify", "dashboard"]


def _password_flow(name: str, **settings) -> dict:
    main = importlib.import_module(f"services.{name}.main")
    app = main.create_app(importlib.import_module(f"services.{name}.settings").Settings(**settings))
    [scheme] = app.openapi()["components"]["securitySchemes"].values()
    return scheme["flows"]["password"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_points_authorize_at_the_issuer(name):
    assert _password_flow(name)["tokenUrl"] == "http://127.0.0.1:8000/auth/token"
    moved = _password_flow(name, jwt_token_url="https://border.example/identity/auth/token")
    assert moved["tokenUrl"] == "https://border.example/identity/auth/token"


def test_the_issuer_keeps_its_own_route():
    assert _password_flow("identity")["tokenUrl"] == "/auth/token"
