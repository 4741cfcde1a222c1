"""The checkpoint tablet with an expected list, in real headless Chromium: a list refused for its bad rows,
then the good one; the officer confirms three of its people, the form filled from the list, and the
reconciliation counts them."""

from services.intake.domain import cambodia_day
from tests.factories import POIPET, PREY_VENG_VILLAGE
from tests.intake.conftest import OFFICER
from tests.intake.test_expected import PEOPLE, _upload, _xlsx
from tests.intake.test_tablet_browser import TOKEN
from tests.waiting import wait_until
from tests.web import SCREENSHOTS, serious_accessibility_violations, serving

KHMER = {"Sok Dara": "សុខ ដារ៉ា", "Chan Sophea": "ចាន់ សុភា", "Keo Vanna": "កែវ វណ្ណា"}


async def test_three_of_a_thai_list_confirmed_at_the_tablet(stack, browser):
    intake = await stack.start("intake")
    client = intake.client
    day = cambodia_day(intake.runtime.deps.clock.now())
    bad = _xlsx([*PEOPLE, [5, "", "F", 30, "", "", ""]])
    assert (await _upload(client, bad, day=day)).status_code == 422
    r = await _upload(client, _xlsx(PEOPLE), day=day)
    assert r.status_code == 201, r.text
    list_id = r.json()["id"]

    async with serving(intake.app) as base:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="km-KH")
        await context.add_init_script(f"sessionStorage.setItem('intake.token', '{TOKEN}');")
        page = await context.new_page()
        await page.goto(f"{base}/tablet/")
        await page.wait_for_selector("#expected:not([hidden])")
        assert await page.text_content("#expected-count") == "4"
        await wait_until(lambda: page.evaluate("gaz.byProvince.has('14')"), timeout=60, what="Prey Veng")
        assert await serious_accessibility_violations(page) == []

        for latin, khmer in KHMER.items():
            row = page.locator("#expected-list li", has_text=latin)
            await row.get_by_role("button").click()
            # Filled from the list; the officer adds what only the checkpoint knows.
            assert await page.input_value("#name_latin") == latin
            assert await page.input_value("#sex") in ("M", "F")
            await page.fill("#name_km", khmer)
            await page.fill("#village_q", "angkrong")
            await page.click(f"#village-hits li[data-code='{PREY_VENG_VILLAGE}']")
            await page.fill("#temperature_c", "36.6")
            await page.check("#consent")
            await page.click("#submit")
            await row.wait_for(state="detached")
        await wait_until(
            lambda: page.evaluate(
                "document.querySelectorAll('#records li.rec[data-state=synced]').length === 3"
            ),
            timeout=30,
            what="three registrations sent",
        )
        assert await page.text_content("#expected-count") == "1"
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / "intake-expected-km.png"))
        await context.close()

    r = await client.get(f"/expected-lists/{list_id}/reconciliation", headers=OFFICER)
    assert r.json() == {"expected": 4, "arrived": 3, "not_yet": 1, "arrived_not_expected": None}
    page = (await client.get("/returnees", params={"checkpoint_id": POIPET}, headers=OFFICER)).json()
    assert sorted(i["name_latin"] for i in page["items"]) == sorted(KHMER)
    passports = {i["name_latin"]: i["id_doc_number"] for i in page["items"]}
    assert passports["Sok Dara"] == "N0000001"  # the list's document number came along
