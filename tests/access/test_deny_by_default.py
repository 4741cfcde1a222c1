"""Deny by default: every route of every service declares who may call it."""

import importlib
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from shared.settings import ServiceSettings
from shared.web.auth import (
    Principal,
    Role,
    assert_every_route_has_a_rule,
    public,
    refuse_unruled_routes,
    require,
    routes_without_a_rule,
)
from shared.web.service import create_service_app
from tests.conftest import TEST_PUBLIC_KEY, TEST_TOKENS, bearer

SERVICES = ["intake", "quarantine", "transport", "notify", "dashboard", "identity"]


def toy_app() -> FastAPI:
    """One route of each kind the check must tell apart."""
    app = FastAPI()
    app.state.token_config = TEST_TOKENS

    @app.get("/ruled")
    async def ruled(principal: Annotated[Principal, require(Role.provincial_wg)]) -> dict:
        return {"who": principal.subject}

    @app.post("/login", dependencies=[public()])
    async def login() -> dict:
        return {}

    @app.get("/forgotten")
    async def forgotten() -> dict:
        return {"secret": "returnee list"}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {}

    guarded = APIRouter(dependencies=[require(Role.national_admin)])

    @guarded.get("/by-router")
    async def by_router() -> dict:
        return {}

    def nested(principal: Annotated[Principal, require(Role.commune_chief)]) -> str:
        return principal.subject

    @app.get("/nested")
    async def via_dependency(who: Annotated[str, Depends(nested)]) -> dict:
        return {"who": who}

    app.include_router(guarded)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent), name="static")
    return app


def test_the_check_lists_exactly_the_routes_without_a_rule():
    app = toy_app()

    assert routes_without_a_rule(app) == ["GET /forgotten"]
    with pytest.raises(AssertionError, match="GET /forgotten"):
        assert_every_route_has_a_rule(app)


async def test_an_unruled_route_refuses_at_run_time_and_the_others_still_work():
    app = toy_app()
    assert refuse_unruled_routes(app) == ["GET /forgotten"]

    @app.post("/ruled")  # added after the guard, on the path of a ruled GET
    async def late() -> dict:
        return {"changed": True}

    admin = bearer(("national_admin", "KH"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://toy") as client:
        refused = await client.get("/forgotten", headers=admin)
        late_refused = await client.post("/ruled", headers=admin)
        ruled = await client.get("/ruled", headers=bearer(("provincial_wg", "14")))
        nested = await client.get("/nested", headers=bearer(("provincial_wg", "14")))
        login = await client.post("/login")
        health = await client.get("/healthz")

    assert (refused.status_code, refused.json()) == (403, {"detail": "no access rule on this route"})
    assert late_refused.status_code == 403
    assert ruled.status_code == 200
    assert nested.status_code == 403  # the rule of a nested dependency holds
    assert login.status_code == health.status_code == 200


def build(name: str) -> FastAPI:
    """The service's app as deployed, with its default settings; nothing connects until it starts."""
    main = importlib.import_module(f"services.{name}.main")
    settings = importlib.import_module(f"services.{name}.settings").Settings()
    return main.create_app(settings)


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_of_the_service_has_an_access_rule(name):
    app = build(name)

    assert routes_without_a_rule(app) == [], f"{name}: routes without require(...) or public()"


async def test_every_service_app_refuses_an_unruled_route_at_run_time():
    router = APIRouter()

    @router.get("/returnees")
    async def forgotten() -> list:
        return ["returnee list"]

    app = create_service_app(ServiceSettings(jwt_key=TEST_PUBLIC_KEY), title="probe", routers=[router])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        refused = await client.get("/returnees", headers=bearer(("national_admin", "KH")))
        health = await client.get("/healthz")

    assert refused.status_code == 403
    assert health.status_code == 200


async def test_a_request_without_a_token_is_refused_before_its_body_is_read():
    router = APIRouter()
    stored = []

    @router.post("/returnees")
    async def register(body: dict, _: Annotated[Principal, require(Role.checkpoint_officer)]) -> dict:
        stored.append(body)
        return body

    app = create_service_app(ServiceSettings(jwt_key=TEST_PUBLIC_KEY), title="probe", routers=[router])
    chunks_read = 0

    async def body():
        nonlocal chunks_read
        for _ in range(3):
            chunks_read += 1
            yield b" "

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        anonymous = await client.post("/returnees", content=body())
        basic = await client.post("/returnees", content=b"{}", headers={"Authorization": "Basic eDp5"})
        officer = await client.post(
            "/returnees", json={"a": 1}, headers=bearer(("checkpoint_officer", "KH-TH-01"))
        )

    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "missing token"})
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert chunks_read == 0
    assert basic.status_code == 401
    assert officer.status_code == 200 and stored == [{"a": 1}]
