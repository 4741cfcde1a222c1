"""The tablet's import of a paper or Excel list of registrations, in real headless Chromium: uploaded,
followed to its end, the refused households shown by their lines."""

from datetime import timedelta

from tests.factories import POIPET
from tests.intake.conftest import OFFICER
from tests.intake.test_import import _rows, _write_xlsx
from tests.intake.test_tablet_browser import TOKEN
from tests.web import serving

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_excel_of_registrations_imported_from_the_tablet(stack, browser, tmp_path):
    intake = await stack.start("intake")
    arrived = (intake.runtime.deps.clock.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    content = _write_xlsx(tmp_path / "surge.xlsx", _rows(arrived)).read_bytes()
    async with serving(intake.app) as base:
        context = await browser.new_context(locale="km-KH")
        await context.add_init_script(f"sessionStorage.setItem('intake.token', '{TOKEN}');")
        page = await context.new_page()
        await page.goto(f"{base}/tablet/")
        await page.wait_for_selector("#app:not([hidden])")
        await page.click("#lists summary")
        upload = [{"name": "surge.xlsx", "mimeType": XLSX, "buffer": content}]
        await page.set_input_files("#import_file", files=upload)
        await page.click("#import-form button[type=submit]")
        await page.locator("#import-progress", has_text="រួចរាល់").wait_for(timeout=30000)
        assert "5" in await page.text_content("#import-progress")
        refused = await page.locator("#import-errors li").all_inner_texts()
        assert [r.split(":")[0] for r in refused] == ["ជួរ 7", "ជួរ 8", "ជួរ 9, 10", "ជួរ 11"]
        await context.close()
    page = await intake.client.get("/returnees", params={"checkpoint_id": POIPET}, headers=OFFICER)
    assert page.json()["total"] == 5
