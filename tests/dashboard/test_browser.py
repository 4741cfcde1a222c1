"""The province dashboard in real headless Chromium: Khmer, live update without reload, drill-down."""

import asyncio
import socket
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import uvicorn

from shared.auth import Grant, issue_token
from shared.events.intake import QuarantinePolicy, ReturneeRegistered, Screening
from tests.conftest import TEST_TOKENS, wait_until
from tests.dashboard import flow

playwright_api = pytest.importorskip("playwright.async_api")

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(role: str, scope: str) -> str:
    return issue_token(TEST_TOKENS, "browser", [Grant(role=role, scope=scope)], timedelta(minutes=10))


@pytest.fixture
async def served(stack):
    """The dashboard fed with the scripted week, served over HTTP on a loopback port."""
    service = await stack.start("dashboard", refresh_seconds=1)
    events = flow.script()
    await flow.publish(service.runtime.producer, stack.prefix, events)
    consumer = service.runtime.consumers[0]
    await wait_until(lambda: consumer.processed >= len(events), timeout=60, what="every event consumed")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, what="the HTTP server")
    yield service, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
async def test_province_dashboard_in_khmer_updates_live_and_drills_down(served, stack):
    service, base = served
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 1500})
        token = _token("provincial_wg", "02")
        await page.add_init_script(
            f"localStorage.setItem('border.dashboard.token', '{token}');"
            "localStorage.setItem('border.lang', 'km');"
        )
        await page.goto(base + "/dashboard/#area=02")
        received = page.locator('.card[data-metric="received"]')
        await received.and_(page.locator('[data-value="4"]')).wait_for(timeout=15000)
        assert await page.locator("html").get_attribute("lang") == "km"
        assert "បានទទួល" in await received.inner_text()
        await page.evaluate("window.__sameDocument = true")
        await page.screenshot(path=str(SHOTS / "dashboard-province-km.png"), full_page=True)

        newcomer = ReturneeRegistered(
            returnee_id=uuid4(),
            checkpoint_id="KH-TH-09",
            arrived_at=flow.at(5),
            home_village_code=flow.C2_VILLAGE,
            name_km="សុខា",
            name_latin="Sokha",
            sex="F",
            age_years=40,
            screening=Screening(temperature_c=36.5),
            policy=QuarantinePolicy.border,
        )
        await flow.publish(service.runtime.producer, stack.prefix, [newcomer])
        await received.and_(page.locator('[data-value="5"]')).wait_for(timeout=15000)
        assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"

        await page.fill("#since", str(flow.on(0)))
        await page.fill("#until", str(flow.on(5)))
        async with page.expect_popup() as popup_info:
            await page.locator("#print").click()
        report = await popup_info.value
        await report.wait_for_selector("#days tbody tr")
        assert await report.locator("#days tbody tr").count() == 9  # Battambang's rows of the week
        assert await report.locator("#rollup tr.nation").count() == 0  # not the nation's: only Battambang
        await report.screenshot(path=str(SHOTS / "dashboard-report-km.png"), full_page=True)
        await report.close()

        await page.locator('#areas tr[data-code="0201"]').click()
        await page.wait_for_selector('body[data-area="0201"]', timeout=15000)
        await page.locator('#areas tr[data-code="020102"]').click()
        await page.wait_for_selector('body[data-area="020102"]', timeout=15000)
        await received.and_(page.locator('[data-value="2"]')).wait_for(timeout=15000)
        assert "Kantueu Pir" not in await page.locator("#crumbs").inner_text()  # names in Khmer
        await page.screenshot(path=str(SHOTS / "dashboard-commune-km.png"), full_page=True)

        await page.locator("#lang").click()
        await page.wait_for_function("document.documentElement.lang === 'en'")
        await page.goto(base + "/dashboard/#area=02")
        await received.and_(page.locator('[data-value="5"]')).wait_for(timeout=15000)
        await page.screenshot(path=str(SHOTS / "dashboard-province-en.png"), full_page=True)
        await browser.close()
