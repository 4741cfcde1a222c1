"""/metrics answers Prometheus with the scrape token, or loopback callers outside production, nobody else."""

import httpx
import pytest
from pydantic import ValidationError

from services.intake.main import create_app
from services.intake.settings import Settings
from tests.conftest import PROD, TEST_PUBLIC_KEY

TOKEN = "scrape-token-for-tests-0123456789"


def client(settings: Settings, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings), client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://intake")


async def test_with_a_token_only_its_bearer_scrapes():
    async with client(Settings(environment="test", metrics_token=TOKEN), host="10.1.2.3") as c:
        assert (await c.get("/metrics")).status_code == 401
        wrong = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        assert (await c.get("/metrics", headers={"Authorization": TOKEN})).status_code == 401
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and "border_http_request_seconds" in r.text
    # The token is asked of loopback callers too: a token set means Prometheus is the only reader.
    async with client(Settings(environment="test", metrics_token=TOKEN)) as c:
        assert (await c.get("/metrics")).status_code == 401


async def test_without_a_token_only_loopback_scrapes():
    async with client(Settings(environment="test"), host="10.1.2.3") as c:
        r = await c.get("/metrics")
        assert r.status_code == 403 and "border_" not in r.text
    for host in ("127.0.0.1", "::1"):
        async with client(Settings(environment="dev"), host=host) as c:
            assert (await c.get("/metrics")).status_code == 200


def test_production_refuses_to_start_without_a_token():
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(jwt_key=TEST_PUBLIC_KEY, **PROD | {"metrics_token": None})
    assert Settings(jwt_key=TEST_PUBLIC_KEY, **PROD | {"metrics_token": TOKEN})


def test_the_token_comes_from_one_variable_for_every_service(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    assert Settings().metrics_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(Settings())
