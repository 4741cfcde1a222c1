"""The officers' screen in real headless Chromium on the one HTTPS origin (deploy/proxy.sh): a provincial
working group changes a chief's phone, reads the change in the history, sends a failed webhook again, and
the next SMS goes to the new phone through Kannel; a district officer reads the unmatched SMS."""

import pytest

from tests.identity.conftest import add_user, start_identity
from tests.notify.conftest import ADMIN, dispatched, phone, registered, start_notify, villages
from tests.notify.test_api import Receiver
from tests.notify.test_kannel import sms_to
from tests.web import (
    HAVE_CHROMIUM,
    SCREENSHOTS,
    proxied,
    serious_accessibility_violations,
    serving,
    sign_in,
)

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium is not installed")
PAGE_BUDGET = 300 * 1024  # bytes transferred on first load, headers included


async def test_a_new_phone_saved_on_the_screen_gets_the_next_sms(stack, kannel, tmp_path):
    village, commune = villages(7)
    lonely_village, lonely = villages(9)  # a commune with no contact: its alert waits on the screen
    old, new = phone(), phone()
    identity = await start_identity(stack)
    await add_user(identity, "pwg-bmc", ("provincial_wg", "01"))
    await add_user(identity, "do-bmc", ("district_officer", commune.code[:4]))
    notify = await start_notify(stack)
    gone = Receiver(410, 200)  # the chief's webhook refuses for good once, then works at its new URL

    async with (
        serving(gone.app, gone.port),
        proxied(tmp_path, identity=identity.app, notify=(notify.service.app, notify.port)) as proxy,
    ):
        origin, browser = proxy.url, proxy.browser
        await notify.contact(commune.code, phone_number=old, webhook_url=gone.url)
        first = registered(village.code, name_latin="Chan Dara")
        waiting = registered(lonely_village.code)
        await notify.publish(first, waiting, dispatched(first, waiting))
        await sms_to(old)
        [hook] = await notify.wait_state("failed", returnee_id=first.returnee_id, channel="webhook")
        stranger = phone()
        code = (await notify.followup(first.returnee_id)).code
        assert (await notify.inbound(stranger, f"VISIT {code}")).status_code == 200

        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="km-KH")
        page = await context.new_page()
        sizes = []

        async def weigh(response):
            sizes.append(await response.request.sizes())

        page.on("response", weigh)
        await page.goto(f"{origin}/notify/")
        assert await page.evaluate("window.isSecureContext")
        await sign_in(page, "pwg-bmc", then="#app")
        row = page.locator(f"#contact-list tr[data-area='{commune.code}']")
        await row.wait_for()
        assert await page.locator("html").get_attribute("lang") == "km"
        assert await page.text_content("h1") == "ការជូនដំណឹងទៅមេឃុំ"
        assert commune.name_km in await row.inner_text() and old in await row.inner_text()
        weight = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        assert 0 < weight <= PAGE_BUDGET, f"first load {weight} bytes"
        page.remove_listener("response", weigh)
        held = await page.inner_text("#held-list")
        assert lonely.name_km in held and "កំពុងធ្វើដំណើរមកផ្ទះ" in held
        assert await serious_accessibility_violations(page) == []

        # Edit: the new phone in the local form officers write it in, and the webhook's new address.
        await row.get_by_role("button", name="កែ").click()
        form = page.locator("#contact-form")
        assert await form.locator("input[name=area_code]").input_value() == commune.code
        await form.locator("input[name=phone]").fill("0" + new[3:])
        await form.locator("input[name=webhook_url]").fill(gone.url + "?v=2")
        await form.locator("button[type=submit]").click()
        await page.locator("#contact-saved", has_text="បានរក្សាទុក").wait_for()
        history = page.locator("#history-list tbody tr")
        await history.first.wait_for()
        changes = await history.all_inner_texts()
        assert any("លេខទូរស័ព្ទ" in c and old in c and new in c for c in changes), changes
        assert any("pwg-bmc" in c for c in changes), changes
        await page.locator(f"#contact-list tr[data-area='{commune.code}'] td.phone", has_text=new).wait_for()

        # The failed webhook, sent again from its row.
        failed = page.locator(f"#delivery-list tr[data-id='{hook.id}']")
        assert await failed.get_attribute("data-state") == "failed"
        await failed.get_by_role("button", name="ផ្ញើម្តងទៀត").click()
        await notify.wait_state("delivered", returnee_id=first.returnee_id, channel="webhook")

        # The next returnee of the commune: the SMS reaches the new phone, and the screen says so.
        second = registered(village.code, name_latin="Keo Sophea")
        await notify.publish(second, dispatched(second))
        assert (await sms_to(new)).receiver == new
        await notify.wait_state("delivered", returnee_id=second.returnee_id, channel="sms")
        await page.click("#refresh")
        sms = page.locator("#delivery-list tr[data-state='delivered']").filter(has_text=new)
        await sms.first.wait_for()
        assert (
            await page.locator("#delivery-list td.phone", has_text=old).count() >= 1
        )  # the first went there
        await page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
        await page.screenshot(path=str(SCREENSHOTS / "notify-officers-km.png"), full_page=True)

        # The district officer: no contacts to keep, but the SMS that matched nothing, with its text.
        await page.click("#logout")
        await sign_in(page, "do-bmc", then="#app")
        inbound = page.locator("#inbound-list tbody tr").filter(has_text=stranger)
        await inbound.wait_for()
        assert f"VISIT {code}" in await inbound.inner_text()
        assert "មិនមែនលេខរបស់ឃុំ" in await inbound.inner_text()
        assert commune.name_km in await inbound.inner_text()
        assert await page.locator("#contacts").is_hidden()
        assert await page.locator("#delivery-list button").count() == 0  # reads, retries nothing
        assert await page.evaluate("localStorage.getItem('notify.token')") is None
        assert await serious_accessibility_violations(page) == []

        # English on the same screen.
        await page.click("#lang")
        await page.locator("h1", has_text="Commune alerts").wait_for()
        # The tables are read again in the new language: wait for the row, not only the heading.
        await page.locator("#inbound-list tbody tr", has_text="Not the commune's number").wait_for()
        await context.close()

    # The admin's view agrees with what the screen showed.
    r = await notify.client.get(f"/deliveries?returnee_id={second.returnee_id}", headers=ADMIN)
    assert [d["sent_to"] for d in r.json() if d["channel"] == "sms"] == [new]
