"""The transport working group's screen in real headless Chromium, signed in through the identity service:
the origin officer proposes, supplies, confirms and dispatches; the destination officer hands over two
passengers and reports one missing; the manifest prints as a PDF."""

import io
from uuid import uuid4

import pytest
from pypdf import PdfReader

from shared.contracts.transport import HandedOver, ManifestDispatched, PassengerMissing
from tests.identity.conftest import add_user, start_identity
from tests.transport.conftest import ADMIN, Feed, registered, transfer_events
from tests.waiting import wait_until
from tests.web import (
    HAVE_CHROMIUM,
    SCREENSHOTS,
    proxied,
    serious_accessibility_violations,
    sign_in,
)

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium is not installed")
BATTAMBANG = "02010101"  # Thmei, Kantueu Muoy, Banan
PAGE_BUDGET = 300 * 1024  # bytes transferred on first load, headers included


async def _card_status(page, status: str) -> None:
    await page.wait_for_selector(f"article.manifest[data-status='{status}']", timeout=15000)


async def _token_storage(page) -> dict:
    return await page.evaluate(
        "({local: JSON.stringify(localStorage), session: sessionStorage.getItem('transport.token')})"
    )


async def test_propose_dispatch_hand_over_and_print_in_khmer(stack, tmp_path):
    identity = await start_identity(stack)
    transport = await stack.start("transport")
    await add_user(identity, "officer-bmc", ("transport_officer", "01"))  # Banteay Meanchey: the border
    # Identity creates transport officers in border provinces only: the passengers go home to Battambang,
    # itself on the border, whose officer receives them.
    await add_user(identity, "officer-btb", ("transport_officer", "02"))
    await add_user(identity, "pwg-btb", ("provincial_wg", "02"))  # reads, acts on nothing
    r = await transport.client.post(
        "/vehicles",
        json={
            "plate": "2B-7788",
            "seats": 12,
            "driver": "សួស វណ្ណា",
            "escort": "Keo Dara",
            "origin_province_code": "01",
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    family = uuid4()
    people = [
        registered(BATTAMBANG, household=family, care=("infant",)).model_copy(
            update={"name_km": "ចាន់ ដារ៉ា", "name_latin": "Chan Dara"}
        ),
        registered(BATTAMBANG, household=family).model_copy(
            update={"name_km": "ចាន់ សុភា", "name_latin": "Chan Sophea"}
        ),
        registered(BATTAMBANG),  # សុខ ចន្ទា, alone: the one who will not be there at hand-over
    ]
    await Feed(stack, transport).released(*people)

    # On the one HTTPS origin, as a tablet or an office computer opens it (deploy/proxy.sh).
    async with proxied(tmp_path, identity=identity.app, transport=transport.app) as origin:
        base, browser = origin.url, origin.browser
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="km-KH", accept_downloads=True
        )
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        sizes = []

        async def weigh(response):
            if response.url.startswith(base):
                sizes.append((response.url, await response.request.sizes()))

        page.on("response", weigh)

        # The origin officer: the queue, then a proposal for the waiting three.
        await page.goto(f"{base}/transport/")
        await page.wait_for_selector("#login:not([hidden])")
        assert await serious_accessibility_violations(page) == []
        await sign_in(page, "officer-bmc", then="#board")
        await page.wait_for_selector("#queue tbody tr")
        assert await page.locator("html").get_attribute("lang") == "km"
        assert await page.text_content("h1") == "ការដឹកជញ្ជូនពលរដ្ឋត្រឡប់មកស្រុកកំណើត"
        assert "មន្ត្រីដឹកជញ្ជូន" in await page.text_content("#who")
        queue = await page.inner_text("#queue")
        assert "បន្ទាយមានជ័យ" in queue and "បាត់ដំបង" in queue and "3" in queue
        await wait_until(lambda: len(sizes) >= 5, what="the first load's responses weighed")
        weight = sum(s["responseBodySize"] + s["responseHeadersSize"] for _, s in sizes)
        assert weight <= PAGE_BUDGET, sorted(sizes)
        # The login and the API went through the proxy's paths, on a secure origin.
        called = {url.removeprefix(base).split("?")[0] for url, _ in sizes}
        assert "/api/identity/auth/token" in called and "/api/transport/overview" in called, called
        assert await page.evaluate("window.isSecureContext")
        page.remove_listener("response", weigh)

        # A first proposal cancelled (after the confirmation dialog) puts the three back in the queue.
        await page.click("#propose button")
        await _card_status(page, "proposed")
        await page.locator("article.manifest .m-actions button.danger").click()
        await page.wait_for_selector("#manifests article.manifest", state="detached")
        assert "3" in await page.inner_text("#queue")

        await page.click("#propose button")
        await _card_status(page, "proposed")
        card = page.locator("article.manifest")
        assert "2B-7788" in await card.locator(".m-title").inner_text()
        assert await card.locator("tr[data-returnee]").count() == 3
        assert await card.locator("tr.household").count() == 2  # the household, and the one alone
        assert "ខ្វះ" in await card.locator(".m-gaps").inner_text()  # nothing loaded yet

        supplies = card.locator("form.m-supplies")
        await supplies.locator("input[name=food_rations]").fill("3")
        await supplies.locator("input[name=water_litres]").fill("6")
        await supplies.locator("input[name=medicine_kits]").fill("1")
        await supplies.locator("button[type=submit]").click()
        await wait_until(
            lambda: page.evaluate("document.querySelector('.m-gaps').textContent === ''"),
            what="no supply gap left",
        )

        await card.locator(".m-actions button.primary").click()  # confirm
        await _card_status(page, "confirmed")
        await card.locator("form.m-dispatch input[name=duration_minutes]").fill("90")
        await card.locator("form.m-dispatch button").click()
        await _card_status(page, "dispatched")
        # The origin officer may not record the arrival in Battambang: no such buttons for them.
        assert await page.locator("button.hand-over").count() == 0
        stored = await _token_storage(page)
        assert stored["session"] and stored["session"] not in stored["local"]
        assert "eyJ" not in stored["local"]

        # The province's working group reads the same board, with nothing to press but print.
        await page.click("#logout")
        assert (await _token_storage(page))["session"] is None
        await sign_in(page, "pwg-btb", then="#board")
        await _card_status(page, "dispatched")
        assert await page.locator("#board button:visible").all_inner_texts() == ["បោះពុម្ពបញ្ជី (PDF)"]
        assert await page.locator("#vehicle-form").is_hidden()
        assert await page.locator("article.manifest tr[data-returnee]").count() == 3

        # The destination officer: hand over the household, report the third passenger missing.
        await page.click("#logout")
        await sign_in(page, "officer-btb", then="#board")
        await _card_status(page, "dispatched")
        card = page.locator("article.manifest")
        assert await card.locator("form.m-dispatch").is_hidden()
        assert await card.locator(".m-actions button.danger").count() == 0  # no cancel at the destination
        for person in people[:2]:
            row = f"tr[data-returnee='{person.returnee_id}']"
            await card.locator(f"{row} button.hand-over").click()
            await page.wait_for_selector(f"{row}[data-stage='handed_over']")
        missing = people[2].returnee_id
        await card.locator(f"tr[data-returnee='{missing}'] button.report-missing").click()
        await _card_status(page, "closed")
        flagged = card.locator(f"tr[data-returnee='{missing}']")
        assert await flagged.get_attribute("class") == "missing"
        assert "បាត់ខ្លួន" in await flagged.inner_text()
        assert "សុខ ចន្ទា" in await page.inner_text("#missing")  # and among the alerts

        async with page.expect_download() as downloading:
            await card.locator(".m-actions button").last.click()
        download = await downloading.value
        pdf = PdfReader(io.BytesIO((await download.path()).read_bytes()))
        text = "\n".join(p.extract_text() for p in pdf.pages)
        assert "2B-7788" in text and "Household 1" in text and "missing" in text
        assert download.suggested_filename.startswith("manifest-2B-7788")

        assert await serious_accessibility_violations(page) == []
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / "transport-screen-km.png"), full_page=True)

        await page.click("#lang")
        assert await page.locator("html").get_attribute("lang") == "en"
        assert "Missing" in await flagged.inner_text()
        assert await serious_accessibility_violations(page) == []
        await context.close()

    events = await transfer_events(stack, expect=4)
    assert sorted(type(e).__name__ for e in events) == sorted(
        [ManifestDispatched.__name__, HandedOver.__name__, HandedOver.__name__, PassengerMissing.__name__]
    )
    assert {e.returnee_id for e in events if isinstance(e, PassengerMissing)} == {missing}
