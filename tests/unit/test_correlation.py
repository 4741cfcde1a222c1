"""The correlation id a request is logged and stamped under."""

import httpx
from fastapi import FastAPI

from shared.logging import CorrelationMiddleware, correlation_id_var


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/seen")
    async def seen():
        return {"id": correlation_id_var.get()}

    api.add_middleware(CorrelationMiddleware)
    return api


async def call(headers: dict) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/seen", headers=headers)


async def test_the_callers_id_is_kept_and_echoed():
    r = await call({"X-Correlation-ID": "0b6f2c1e-5d7a-4c51-9d3e-2f1a8b7c6d5e"})
    assert r.json()["id"] == r.headers["x-correlation-id"] == "0b6f2c1e-5d7a-4c51-9d3e-2f1a8b7c6d5e"


async def test_a_request_without_one_gets_a_fresh_id_each_time():
    first, second = await call({}), await call({})
    assert first.json()["id"] == first.headers["x-correlation-id"]
    assert len(first.json()["id"]) == 32 and first.json()["id"] != second.json()["id"]


async def test_free_text_is_never_taken_as_an_id():
    # A header can carry anything, a name and a phone included: only id-shaped values reach the logs.
    r = await call({"X-Correlation-ID": "Sok Dara 097 1234567"})
    assert r.json()["id"] != "Sok Dara 097 1234567" and len(r.json()["id"]) == 32
    assert correlation_id_var.get() is None  # and the request's id does not outlive it
