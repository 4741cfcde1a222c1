"""Every service starts on PostgreSQL and the real broker, and reports itself ready."""

import pytest

SERVICES = ["intake", "quarantine", "transport", "notify"]


@pytest.mark.parametrize("name", SERVICES)
async def test_service_is_ready_with_health_and_metrics(stack, name):
    service = await stack.start(name)
    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "kafka": "ok"}}
    assert (await service.client.get("/healthz")).json() == {"status": "ok"}
    metrics = await service.client.get("/metrics")
    assert metrics.status_code == 200
    assert "border_http_request_seconds" in metrics.text


async def test_readyz_reports_a_database_that_is_gone(stack):
    service = await stack.start("intake")
    await service.runtime.engine.dispose()
    from tests.conftest import drop_database

    await drop_database(stack.infra.postgres_admin_url, service.database_url.rsplit("/", 1)[1])
    ready = await service.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"] == "ok"
    assert ready.json()["checks"]["database"] != "ok"
