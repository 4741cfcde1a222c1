"""The province dashboard in real headless Chromium: Khmer, live update without reload, drill-down."""

from datetime import timedelta
from uuid import uuid4

import pytest

from shared.contracts.intake import QuarantinePolicy, ReturneeRegistered, Screening
from shared.geo.gazetteer import load_gazetteer
from shared.web.auth import Grant, issue_token
from tests.conftest import TEST_TOKENS
from tests.dashboard import flow
from tests.waiting import wait_until
from tests.web import SCREENSHOTS, serious_accessibility_violations, serving


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
    async with serving(service.app) as base:
        yield service, base


async def test_province_dashboard_in_khmer_updates_live_and_drills_down(served, stack, browser):
    service, base = served
    page = await browser.new_page(viewport={"width": 1280, "height": 1500})
    token = _token("provincial_wg", "02")
    await page.add_init_script(
        f"sessionStorage.setItem('border.dashboard.token', '{token}');"
        "localStorage.setItem('border.lang', 'km');"
    )
    await page.goto(base + "/dashboard/#area=02")
    received = page.locator('.card[data-metric="received"]')
    await received.and_(page.locator('[data-value="4"]')).wait_for(timeout=15000)
    assert await page.locator("html").get_attribute("lang") == "km"
    assert "បានទទួល" in await received.inner_text()
    await page.evaluate("window.__sameDocument = true")
    await page.screenshot(path=str(SCREENSHOTS / "dashboard-province-km.png"), full_page=True)

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
    # Each chart says in words what it draws: the districts by name, with their figures.
    described = await page.locator("#areas-chart").get_attribute("aria-label")
    assert await page.locator("#areas-chart").get_attribute("role") == "img"
    district = load_gazetteer().district(flow.C2_VILLAGE[:4])
    assert described.startswith(f"បានទទួល: {district.name_km} 5;"), described  # the newcomer counted

    # The communes on their gazetteer points, coloured by what needs doing, described in words.
    gazetteer = load_gazetteer()
    drawn = sum(
        len(gazetteer.communes_of(d.code)) for d in gazetteer.districts_of("02") if gazetteer.point(d.code)
    )
    assert await page.locator("#map circle").count() == drawn
    busiest = load_gazetteer().commune("020101")
    assert (await page.locator("#map").get_attribute("aria-label")).startswith("ឃុំ៖")
    assert busiest.name_km in await page.locator("#map").get_attribute("aria-label")
    assert await page.locator('#map circle[data-code="020101"]').get_attribute("class") != "quiet"
    await page.locator("#map-panel").screenshot(path=str(SCREENSHOTS / "dashboard-map-km.png"))

    await page.fill("#since", str(flow.on(0)))
    await page.fill("#until", str(flow.on(5)))
    async with page.expect_popup() as popup_info:
        await page.locator("#print").click()
    report = await popup_info.value
    await report.wait_for_selector("#days tbody tr")
    assert await report.locator("#days tbody tr").count() == 9  # Battambang's rows of the week
    assert await report.locator("#rollup tr.nation").count() == 0  # not the nation's: only Battambang
    await report.screenshot(path=str(SCREENSHOTS / "dashboard-report-km.png"), full_page=True)
    await report.close()
    async with page.expect_download() as download_info:
        await page.locator("#pdf").click()
    pdf = await download_info.value
    assert pdf.suggested_filename == "situation-02.pdf"
    assert (await pdf.path()).read_bytes().startswith(b"%PDF-")
    assert await serious_accessibility_violations(page) == []

    await page.locator('#areas tr[data-code="0201"]').click()
    await page.wait_for_selector('body[data-area="0201"]', timeout=15000)
    await page.locator('#areas tr[data-code="020102"]').click()
    await page.wait_for_selector('body[data-area="020102"]', timeout=15000)
    await received.and_(page.locator('[data-value="2"]')).wait_for(timeout=15000)
    assert "Kantueu Pir" not in await page.locator("#crumbs").inner_text()  # names in Khmer
    await page.screenshot(path=str(SCREENSHOTS / "dashboard-commune-km.png"), full_page=True)

    await page.locator("#lang").click()
    await page.wait_for_function("document.documentElement.lang === 'en'")
    await page.goto(base + "/dashboard/#area=02")
    await received.and_(page.locator('[data-value="5"]')).wait_for(timeout=15000)
    await page.screenshot(path=str(SCREENSHOTS / "dashboard-province-en.png"), full_page=True)
