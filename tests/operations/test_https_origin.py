"""The one HTTPS origin (deploy/proxy.sh, Caddy with its own CA) in real Chromium that trusts that CA."""

import ssl

import httpx
import pytest

from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE
from tests.dashboard import flow
from tests.factories import POIPET
from tests.identity.conftest import PASSWORD, add_user, start_identity
from tests.intake.test_tablet_browser import _count_is, _register
from tests.waiting import wait_until
from tests.web import (
    HAVE_CHROMIUM,
    proxied,
    serious_accessibility_violations,
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

    async with proxied(tmp_path, identity=identity.app, dashboard=dashboard.app) as proxy:
        origin, ca, browser = proxy.url, proxy.ca, proxy.browser
        # Outside the browser too: the certificate chains to the CA the run made, ops stay internal.
        async with httpx.AsyncClient(base_url=origin, verify=ssl.create_default_context(cafile=ca)) as client:
            assert (await client.get("/ca.crt")).content == ca.read_bytes()
            assert (await client.get("/")).headers["location"] == "/tablet/"
            assert (await client.get("/api/dashboard/healthz")).status_code == 200
            assert (await client.get("/api/dashboard/metrics")).status_code == 404
            assert (await client.get("/api/nothing/healthz")).status_code == 404

        page = await browser.new_page()
        calls, finished = [], []
        page.on("request", lambda r: calls.append(r.url.removeprefix(origin).split("?")[0]))
        page.on("requestfinished", lambda r: finished.append(r))
        await page.goto(f"{origin}/dashboard/#area=02")
        assert await serious_accessibility_violations(page) == []
        assert await page.evaluate("window.isSecureContext && typeof crypto.randomUUID === 'function'")
        await page.fill("#login input[name=username]", "pwg.battambang")
        await page.fill("#login input[name=password]", PASSWORD)
        await page.click("#login button[type=submit]")
        received = page.locator('.card[data-metric="received"]')
        await received.and_(page.locator('[data-value="4"]')).wait_for(timeout=15000)
        assert "/api/identity/auth/token" in calls
        assert "/api/dashboard/stats/summary" in calls
        # The first load through the proxy, as Chromium received it (the communes' outlines for the map,
        # gazetteer data, left out).
        sizes = [await r.sizes() for r in finished if "/stats/map" not in r.url]
        weight = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        assert 0 < weight <= 300 * 1024, (weight, sorted(r.url for r in finished))
        assert await serious_accessibility_violations(page) == []
        assert await page.evaluate("localStorage.getItem('border.dashboard.token')") is None

        # The page that tells an officer how to trust this origin, with the fingerprint to compare.
        await page.goto(f"{origin}/trust/")
        fingerprint = (tmp_path / "caddy" / "static" / "trust" / "fingerprint.txt").read_text()
        await page.locator("#fingerprint", has_text=fingerprint.strip()).wait_for()
        assert await serious_accessibility_violations(page) == []


async def test_the_tablet_works_offline_on_the_https_origin(stack, tmp_path):
    """What a checkpoint tablet on the LAN does: a secure origin, so the service worker registers, and a
    registration made with the link down is sent once it returns, all through the proxy."""
    identity = await start_identity(stack)
    await add_user(identity, "checkpoint.poipet", ("checkpoint_officer", POIPET))
    intake = await stack.start("intake")
    async with proxied(tmp_path, identity=identity.app, intake=intake.app) as proxy:
        origin, browser = proxy.url, proxy.browser
        context = await browser.new_context(locale="km-KH")
        page = await context.new_page()
        calls, finished = [], []
        page.on("request", lambda r: calls.append(r.url.removeprefix(origin).split("?")[0]))
        page.on("requestfinished", lambda r: finished.append(r))
        await page.goto(f"{origin}/tablet/")
        await page.wait_for_selector("#login:not([hidden])")
        assert await serious_accessibility_violations(page) == []
        await page.fill("#login-form input[name=username]", "checkpoint.poipet")
        await page.fill("#login-form input[name=password]", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("#app:not([hidden])")
        assert await page.evaluate("window.isSecureContext && typeof crypto.randomUUID === 'function'")
        assert await page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)") == (
            f"{origin}/tablet/sw.js"
        )
        assert await page.evaluate("localStorage.getItem('intake.token')") is None
        await wait_until(
            lambda: page.evaluate("gaz.byProvince.size === 25"), timeout=60, what="gazetteer cached"
        )
        assert await serious_accessibility_violations(page) == []
        # The first load as Chromium received it, the villages of the 25 provinces left out (they are data
        # the tablet keeps for offline search, fetched once in the background).
        sizes = [
            await r.sizes()
            for r in finished
            if "/gazetteer/provinces/" not in r.url and r.url.startswith(origin)
        ]
        weight = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        assert 0 < weight <= 300 * 1024, f"first load {weight} bytes"

        await context.set_offline(True)
        await _register(
            page, name_km="ចាន់ ដារ៉ា", name_latin="Chan Dara", sex="M", age="34", village_query="angkrong"
        )
        await page.click("#submit")
        await wait_until(lambda: _count_is(page, "pending", 1), what="the registration kept on the tablet")
        await page.reload()  # from the service worker's cache: the link is still down
        await page.wait_for_selector("#app:not([hidden])")
        assert await page.text_content("#net") == "គ្មានអ៊ីនធឺណិត"  # the words, too, kept by the worker
        await context.set_offline(False)
        await wait_until(lambda: _count_is(page, "synced", 1), timeout=30, what="the registration sent")
        assert "/api/identity/auth/token" in calls and "/api/intake/returnees/batch" in calls
        await context.close()

    events = await stack.events(RETURNEE, expect=1, timeout=30)
    assert [e.name_latin for _, e in events if isinstance(e, ReturneeRegistered)] == ["Chan Dara"]
