"""The tablet page in real headless Chromium: register in Khmer, go offline, register two more, resync."""

from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE
from tests.factories import PREY_VENG_VILLAGE as VILLAGE
from tests.intake.conftest import OFFICER
from tests.waiting import wait_until
from tests.web import SCREENSHOTS, serving

TOKEN = OFFICER["Authorization"].removeprefix("Bearer ")


async def _register(page, *, name_km: str, name_latin: str, sex: str, age: str, village_query: str) -> None:
    await page.fill("#name_km", name_km)
    await page.fill("#name_latin", name_latin)
    await page.select_option("#sex", sex)
    await page.fill("#age_years", age)
    await page.fill("#phone", "097 555 1234")
    await page.fill("#village_q", village_query)
    await page.click(f"#village-hits li[data-code='{VILLAGE}']")
    await page.fill("#worked_in", "Rayong")
    await page.select_option("#migration_status", "irregular")
    await page.fill("#temperature_c", "36.7")
    await page.check("input[name=needs][value=food]")
    await page.check("#consent")


async def _records(page, state: str) -> int:
    return await page.locator(f"#records li.rec[data-state='{state}']").count()


async def _count_is(page, state: str, expected: int) -> bool:
    return await _records(page, state) == expected


async def test_register_in_khmer_then_offline_then_resync(stack, browser):
    intake = await stack.start("intake")
    async with serving(intake.app) as base:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="km-KH")
        await context.add_init_script(
            f"if (!sessionStorage.getItem('intake.token')) sessionStorage.setItem('intake.token', '{TOKEN}');"
        )
        page = await context.new_page()
        await page.goto(f"{base}/tablet/")
        await page.wait_for_selector("#app:not([hidden])")
        assert await page.text_content("h1") == "ចុះឈ្មោះអ្នកវិលត្រឡប់"
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        # Every province is on the tablet before the connection goes.
        await wait_until(
            lambda: page.evaluate("gaz.byProvince.size === 25"), timeout=60, what="gazetteer cached"
        )

        # Online, in Khmer: the village found by its Khmer name.
        await page.fill("#name_km", "សុខ ចន្ទា")
        await page.fill("#name_latin", "Sok Chanda")
        await page.select_option("#sex", "F")
        await page.fill("#date_of_birth", "1995-03-14")
        await page.fill("#phone", "012 345 678")
        await page.select_option("#id_doc_type", "national_id")
        await page.fill("#id_doc_number", "N010203040")
        await page.fill("#village_q", "អង្រ្កង")
        await page.click(f"#village-hits li[data-code='{VILLAGE}']")
        assert await page.input_value("#village") == VILLAGE
        await page.fill("#worked_in", "Chonburi")
        await page.select_option("#migration_status", "mou_worker")
        await page.fill("#temperature_c", "36.6")
        await page.check("input[name=needs][value=food]")
        await page.check("#consent")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=SCREENSHOTS / "intake-form-km.png", full_page=True)
        await page.click("#submit")
        await wait_until(lambda: _records(page, "synced"), timeout=40, what="first registration synced")

        # Offline: two more, kept on the tablet; the page itself reloads from the service worker.
        await context.set_offline(True)
        await _register(
            page, name_km="ចាន់ ដារ៉ា", name_latin="Chan Dara", sex="M", age="34", village_query="angkrong"
        )
        await page.click("#submit")
        # The form clears once the registration is stored on the tablet; typing on before that races it.
        await wait_until(lambda: _count_is(page, "pending", 1), what="first offline registration queued")
        await _register(
            page, name_km="ម៉ៅ ស្រីពៅ", name_latin="Mao Sreypov", sex="F", age="27", village_query="អង្រ្កង"
        )
        await page.keyboard.press("Enter")  # the keyboard flow: Enter in the last field registers
        await wait_until(lambda: _count_is(page, "pending", 2), what="two offline registrations queued")
        await page.reload()
        await page.wait_for_selector("#app:not([hidden])")
        await wait_until(lambda: page.evaluate("document.querySelectorAll('#records li.rec').length === 3"))
        assert await _records(page, "pending") == 2 and await _records(page, "synced") == 1
        assert await page.text_content("#net") == "គ្មានអ៊ីនធឺណិត"
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=SCREENSHOTS / "intake-offline-queue.png")

        # Back online: the queue drains by itself.
        await context.set_offline(False)
        await wait_until(lambda: _records(page, "synced"), what="a synced record")
        await wait_until(
            lambda: page.evaluate(
                "document.querySelectorAll(\"#records li.rec[data-state='synced']\").length === 3"
            ),
            timeout=30,
            what="all three synced",
        )
        queued = await page.evaluate(
            "new Promise(r => indexedDB.open('intake').onsuccess = e => "
            "e.target.result.transaction('queue').objectStore('queue').getAll().onsuccess = g => "
            "r(g.target.result.map(x => x.id)))"
        )
        await context.close()

    events = await stack.events(RETURNEE, expect=3, timeout=45, settle=1.5)
    assert len(events) == 3, [type(e).__name__ for _, e in events]
    assert all(isinstance(e, ReturneeRegistered) for _, e in events)
    assert {str(e.returnee_id) for _, e in events} == set(queued)
    assert {e.name_latin for _, e in events} == {"Sok Chanda", "Chan Dara", "Mao Sreypov"}


async def test_expired_token_asks_for_login_and_keeps_the_offline_household(stack, browser):
    from datetime import timedelta

    from tests.conftest import bearer

    intake = await stack.start("intake")
    fresh = TOKEN
    async with serving(intake.app) as base:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.add_init_script(
            "localStorage.setItem('intake.lang', 'en');"
            f"if (!sessionStorage.getItem('intake.token')) sessionStorage.setItem('intake.token', '{fresh}');"
        )
        logins = []

        async def identity(route):
            # Stands in for services/identity: POST /auth/token with the OAuth2 password form.
            logins.append(route.request.post_data)
            await route.fulfill(
                json={"access_token": fresh, "token_type": "bearer", "expires_in": 600},
                headers={"Access-Control-Allow-Origin": "*"},
            )

        page = await context.new_page()
        await page.route("**/auth/token", identity)
        await page.goto(f"{base}/tablet/")
        await page.wait_for_selector("#app:not([hidden])")
        await wait_until(lambda: page.evaluate("gaz.byProvince.has('14')"), timeout=30, what="home province")

        await context.set_offline(True)
        await _register(
            page, name_km="សុខ ចន្ទា", name_latin="Sok Chanda", sex="F", age="31", village_query="angkrong"
        )
        await page.click("#add-member")
        member = page.locator(".member").last
        await member.locator(".m-name_km").fill("សុខ ដារា")
        await member.locator(".m-name_latin").fill("Sok Dara")
        await member.locator(".m-sex").select_option("M")
        await member.locator(".m-age_years").fill("4")
        await member.locator(".m-temperature_c").fill("36.5")
        await page.click("#submit")
        await wait_until(lambda: _records(page, "pending"), what="household queued")
        # The token runs out two seconds later, while the tablet is offline with its queue.
        short = bearer(("checkpoint_officer", "KH-TH-01"), ttl=timedelta(seconds=2))["Authorization"][7:]
        await page.evaluate(f"sessionStorage.setItem('intake.token', '{short}')")

        await page.wait_for_selector("#login:not([hidden])", timeout=20000)
        assert "expired" in await page.text_content("#login-note")
        await context.set_offline(False)
        await page.fill("input[name=username]", "officer")
        await page.fill("input[name=password]", "secret")
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("#app:not([hidden])")
        await wait_until(lambda: _records(page, "synced"), timeout=30, what="household synced after login")
        assert logins and "grant_type=password" in logins[0] and "username=officer" in logins[0]
        await context.close()

    events = await stack.events(RETURNEE, expect=2, timeout=45, settle=1.5)
    assert len(events) == 2
    households = {e.household_id for _, e in events}
    assert len(households) == 1 and None not in households
