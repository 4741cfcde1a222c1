"""The checkpoint tablet with an expected list, in real headless Chromium: the officer uploads the Thai
side's XLSX (refused first for its bad rows, then taken), confirms three of its people with the form filled
from the list, and downloads the day's sheet with the reconciliation."""

import csv
import io
import json

from services.intake.domain import cambodia_day
from tests.factories import POIPET, PREY_VENG_VILLAGE
from tests.intake.conftest import OFFICER
from tests.intake.test_expected import MAPPING, PEOPLE, _xlsx
from tests.intake.test_tablet_browser import TOKEN
from tests.waiting import wait_until
from tests.web import SCREENSHOTS, serious_accessibility_violations, serving

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KHMER = {"Sok Dara": "សុខ ដារ៉ា", "Chan Sophea": "ចាន់ សុភា", "Keo Vanna": "កែវ វណ្ណា"}


async def test_three_of_a_thai_list_confirmed_at_the_tablet(stack, browser):
    intake = await stack.start("intake")
    client = intake.client
    day = cambodia_day(intake.runtime.deps.clock.now())
    bad = _xlsx([*PEOPLE, [5, "", "F", 30, "", "", ""], [6, "Ly Nary", "F", "old", "", "", ""]])

    async with serving(intake.app) as base:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="km-KH", accept_downloads=True
        )
        await context.add_init_script(f"sessionStorage.setItem('intake.token', '{TOKEN}');")
        page = await context.new_page()
        await page.goto(f"{base}/tablet/")
        await page.wait_for_selector("#app:not([hidden])")
        assert await page.locator("#expected").is_hidden()  # no list yet
        await wait_until(lambda: page.evaluate("gaz.byProvince.has('14')"), timeout=60, what="Prey Veng")

        # The Thai side's list, with its own column names (typed once for this source).
        await page.click("#lists summary")
        await page.set_input_files(
            "#list_file", files=[{"name": "chonburi.xlsx", "mimeType": XLSX, "buffer": bad}]
        )
        await page.fill("#list_source", "Chonburi labour office")
        for ours, theirs in json.loads(MAPPING).items():
            await page.fill(f"#list-form .columns input[name={ours}]", theirs)
        await page.click("#list-form button[type=submit]")
        await page.locator("#list-errors li").first.wait_for()
        refused = await page.locator("#list-errors li").all_inner_texts()
        assert any(r.startswith("ជួរ 6") for r in refused) and any("ជួរ 7 age_years" in r for r in refused), (
            refused
        )
        assert await page.locator("#expected").is_hidden()  # nothing of it was kept

        good = {"name": "chonburi.xlsx", "mimeType": XLSX, "buffer": _xlsx(PEOPLE)}
        await page.set_input_files("#list_file", files=[good])
        await page.click("#list-form button[type=submit]")
        await page.locator("#list-result", has_text="4").wait_for()
        await page.wait_for_selector("#expected:not([hidden])")
        assert await page.text_content("#expected-count") == "4"
        assert await serious_accessibility_violations(page) == []

        # The link goes: the list is still on the tablet after a reload, and confirmations wait in the queue.
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        await context.set_offline(True)
        await page.reload()
        await page.wait_for_selector("#expected:not([hidden])")
        assert await page.text_content("#expected-count") == "4"

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
        assert await page.locator("#records li.rec[data-state=pending]").count() == 3
        await context.set_offline(False)
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

        await page.click("#lists summary")  # folded again by the reload
        async with page.expect_download() as downloading:
            await page.click("#sheet")
        download = await downloading.value
        text = (await download.path()).read_bytes().decode("utf-8-sig")
        await context.close()

    rows = list(csv.reader(io.StringIO(text)))
    assert {r[0]: r[1] for r in rows[1:5]}["បានមកដល់ / Arrived"] == "3"
    assert download.suggested_filename.startswith(f"arrivals-{POIPET}-")
    listed = (
        await client.get("/expected", params={"day": str(day), "waiting": "false"}, headers=OFFICER)
    ).json()[0]
    r = await client.get(f"/expected-lists/{listed['list_id']}/reconciliation", headers=OFFICER)
    assert r.json() == {"expected": 4, "arrived": 3, "not_yet": 1, "arrived_not_expected": None}
    page = (await client.get("/returnees", params={"checkpoint_id": POIPET}, headers=OFFICER)).json()
    assert sorted(i["name_latin"] for i in page["items"]) == sorted(KHMER)
    passports = {i["name_latin"]: i["id_doc_number"] for i in page["items"]}
    assert passports["Sok Dara"] == "N0000001"  # the list's document number came along
