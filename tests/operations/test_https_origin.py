"""The one HTTPS origin (deploy/proxy.sh, Caddy with its own CA) in real Chromium that trusts that CA."""

import ssl

import httpx
import pytest

from tests.dashboard import flow
from tests.identity.conftest import PASSWORD, add_user, start_identity
from tests.waiting import wait_until
from tests.web import (
    HAVE_CHROMIUM,
    chromium_trusting,
    https_origin,
    serious_accessibility_violations,
    serving,
)

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium is not installed")


async def test_the_dashboard_logs_in_and_reads_its_api_through_the_proxy(stack, tmp_path):
    identity = await start_identity(stack)
    await add_user(identity, "pwg.battambang", ("provincial_wg", "02"))
    dashboard = await stack.start("dashboard", refresh_seconds=1)
    events = flow.script()
    await flow.publish(dashboard.runtime.producer, stack.prefix, events)
    consumer = dashboard.runtime.consumers[0]
    await wait_until(lambda: consumer.processed >= len(events), timeout=60, what="every event consumed")

    async with (
        serving(identity.app) as identity_url,
        serving(dashboard.app) as dashboard_url,
        https_origin({"identity": identity_url, "dashboard": dashboard_url}, tmp_path / "caddy") as (
            origin,
            ca,
        ),
        chromium_trusting(ca, tmp_path / "home") as browser,
    ):
        # Outside the browser too: the certificate chains to the CA the run made, ops stay internal.
        async with httpx.AsyncClient(base_url=origin, verify=ssl.create_default_context(cafile=ca)) as client:
            assert (await client.get("/ca.crt")).content == ca.read_bytes()
            assert (await client.get("/")).headers["location"] == "/tablet/"
            assert (await client.get("/api/dashboard/healthz")).status_code == 200
            assert (await client.get("/api/dashboard/metrics")).status_code == 404
            assert (await client.get("/api/nothing/healthz")).status_code == 404

        page = await browser.new_page()
        calls = []
        page.on("request", lambda r: calls.append(r.url.removeprefix(origin).split("?")[0]))
        await page.goto(f"{origin}/dashboard/#area=02")
        assert await page.evaluate("window.isSecureContext && typeof crypto.randomUUID === 'function'")
        await page.fill("#login input[name=username]", "pwg.battambang")
        await page.fill("#login input[name=password]", PASSWORD)
        await page.click("#login button[type=submit]")
        received = page.locator('.card[data-metric="received"]')
        await received.and_(page.locator('[data-value="4"]')).wait_for(timeout=15000)
        assert "/api/identity/auth/token" in calls
        assert "/api/dashboard/stats/summary" in calls
        assert await page.evaluate("localStorage.getItem('border.dashboard.token')") is None

        # The page that tells an officer how to trust this origin, with the fingerprint to compare.
        await page.goto(f"{origin}/trust/")
        fingerprint = (tmp_path / "caddy" / "static" / "trust" / "fingerprint.txt").read_text()
        await page.locator("#fingerprint", has_text=fingerprint.strip()).wait_for()
        assert await serious_accessibility_violations(page) == []
