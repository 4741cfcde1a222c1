"""The HTTP metrics' labels stay bounded whatever methods clients send."""

import random
import string

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from shared.metrics import HttpMetricsMiddleware


def _method_labels(route: str) -> set[str]:
    return {
        s.labels["method"]
        for family in REGISTRY.collect()
        if family.name == "border_http_request_seconds"
        for s in family.samples
        if s.labels.get("route") == route
    }


async def test_arbitrary_methods_share_one_label():
    app = FastAPI()
    route = "/probe-" + "".join(random.choices(string.ascii_lowercase, k=8))

    @app.api_route(route, methods=["GET", "POST"])
    async def probe() -> dict:
        return {}

    app.add_middleware(HttpMetricsMiddleware)
    rng = random.Random(19)
    methods = {"".join(rng.choices(string.ascii_uppercase, k=10)) for _ in range(50)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for method in methods:
            assert (await client.request(method, route)).status_code == 405
        await client.get(route)
        await client.post(route)
    assert _method_labels(route) == {"GET", "POST", "other"}
