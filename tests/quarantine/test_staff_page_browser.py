"""The facility staff's page in real headless Chromium on the one HTTPS origin (deploy/proxy.sh): log in at
identity, 20 check-ins in a row by keyboard, a clearance, a refused temperature, supplies and beds;
accessible, light, the token kept out of localStorage."""

import pytest
from sqlalchemy import func, select

from services.quarantine.models import Checkin
from tests.identity.conftest import PASSWORD, add_user, start_identity
from tests.quarantine.helpers import ADMIN, add_facility, publish, registered
from tests.waiting import wait_until
from tests.web import (
    HAVE_CHROMIUM,
    SCREENSHOTS,
    proxied,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium is not installed")

FAMILY = ["សុខ", "ចាន់", "ម៉ៅ", "កែវ", "ហេង", "លី", "ពៅ"]
GIVEN = ["ដារា", "សុភា", "វិចិត្រ"]
LATIN_FAMILY = ["Sok", "Chan", "Mao", "Keo", "Heng", "Ly", "Pov"]
LATIN_GIVEN = ["Dara", "Sophea", "Vichet"]
CARE = {2: ("pregnant",), 9: ("infant",), 15: ("elderly",)}
COUGH, FEVER, INVALID = 4, 7, 20  # rows: a symptom ticked, a fever typed, the 21st refused
MAX_FIRST_LOAD = 300 * 1024


def _residents() -> list:
    people = []
    for i in range(21):
        f, g = divmod(i, 3)
        event = registered(care=CARE.get(i, ()))
        fields = {
            "name_km": f"{FAMILY[f % 7]} {GIVEN[g]}",
            "name_latin": f"{LATIN_FAMILY[f % 7]} {LATIN_GIVEN[g]}",
        }
        people.append(event.model_copy(update=fields | {"age_years": 20 + i}))
    return people


async def _checkins(rt) -> int:
    async with rt.sessions() as session:
        return (await session.execute(select(func.count()).select_from(Checkin))).scalar_one()


async def _placed(client) -> list[dict]:
    response = await client.get("/episodes?facility_id=QF-1&status=placed&limit=500", headers=ADMIN)
    return response.json()


async def test_twenty_check_ins_in_a_row_by_keyboard_then_a_clearance(stack, tmp_path):
    identity = await start_identity(stack)
    await add_user(identity, "staff-qf1", ("facility_staff", "QF-1"))
    quarantine = await stack.start("quarantine", scheduler_seconds=3600)
    client, rt = quarantine.client, quarantine.runtime
    await add_facility(
        quarantine, "QF-1", capacity=30, lat=13.66, lon=102.55, care=["pregnant", "infant", "elderly"]
    )
    low = {"quantity": 20, "unit": "packs", "low_threshold": 50}
    assert (
        await client.put("/facilities/QF-1/supplies/medicine", json=low, headers=ADMIN)
    ).status_code == 200
    people = _residents()
    await publish(stack, *people)
    await wait_until(lambda: _placed_count(client, 21), timeout=40, what="21 residents placed")
    order = [e["returnee_id"] for e in await _placed(client)]  # the page lists them in the API's order

    async with proxied(tmp_path, identity=identity.app, quarantine=quarantine.app) as origin:
        base, browser = origin.url, origin.browser
        context = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="km-KH")
        page = await context.new_page()
        finished = []
        page.on("requestfinished", lambda request: finished.append(request))
        await page.goto(f"{base}/quarantine/")
        await page.wait_for_selector("#login:not([hidden])")
        assert await page.text_content("h1") == "មណ្ឌលចត្តាឡីស័ក"
        await page.fill("input[name=username]", "staff-qf1")
        await page.fill("input[name=password]", PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_function("document.querySelectorAll('#residents li.res').length === 21")
        called = {r.url.removeprefix(base).split("?")[0] for r in finished}
        assert "/api/identity/auth/token" in called and "/api/quarantine/episodes" in called, called

        # First load, login and the list of 21 included, measured as Chromium received it.
        sizes = [await r.sizes() for r in finished]
        weight = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        assert 0 < weight <= MAX_FIRST_LOAD, f"first load {weight} bytes"
        token = await page.evaluate("sessionStorage.getItem('quarantine.token')")
        assert token and token not in await page.evaluate("Object.values(localStorage).join(' ')")

        rows = page.locator("#residents li.res")
        names = [await rows.nth(i).get_attribute("data-id") for i in range(21)]
        episodes = {e["id"]: e for e in await _placed(client)}
        assert [str(episodes[i]["returnee_id"]) for i in names] == [str(r) for r in order]
        assert "ថ្ងៃទី 1 នៃ 14" in await rows.nth(0).inner_text()
        pregnant = next(j for j, i in enumerate(names) if episodes[i]["special_care"] == ["pregnant"])
        assert "ស្ត្រីមានផ្ទៃពោះ" in await rows.nth(pregnant).locator(".tags").inner_text()

        # The round: the first person's temperature has the focus; Enter saves and moves on.
        await page.wait_for_function(
            "document.activeElement.matches('#residents li.res:first-child .temperature')"
        )
        for i in range(20):
            await page.keyboard.type("38.1" if i == FEVER else f"36.{i % 9}")
            if i == COUGH:
                await page.keyboard.press("Tab")  # to the first symptom, cough
                await page.keyboard.press("Space")
            await page.keyboard.press("Enter")
            await page.wait_for_function(
                "i => { const rows = document.querySelectorAll('#residents li.res');"
                " return rows[i].dataset.checked === 'true'"
                " && document.activeElement === rows[i + 1].querySelector('.temperature'); }",
                arg=i,
            )
        assert await _checkins(rt) == 20
        after = {e["id"]: e for e in await _placed(client)}
        assert [after[i]["checked_today"] for i in names] == [True] * 20 + [False]
        assert {i for i in names if after[i]["referred"]} == {names[COUGH], names[FEVER]}
        assert after[names[COUGH]]["last_checkin"]["symptoms"] == ["cough"]
        assert after[names[FEVER]]["last_checkin"]["symptoms"] == ["fever"]
        assert "20" in await page.text_content("#counts")

        # Health staff clear the person with a cough; the one with fever stays referred.
        await rows.nth(COUGH).locator(".clear-referral").click()
        await page.wait_for_function(
            "i => document.querySelectorAll('#residents li.res')[i].dataset.referred === 'false'", arg=COUGH
        )
        cleared = (await client.get(f"/episodes/{names[COUGH]}", headers=ADMIN)).json()
        assert cleared["referred"] is False and cleared["cleared_at"]
        assert await rows.nth(FEVER).locator(".clear-referral").is_visible()

        # A temperature out of range: an inline error, in Khmer, and nothing sent.
        last = rows.nth(INVALID)
        await last.locator(".temperature").focus()
        await page.keyboard.type("45")
        await page.keyboard.press("Enter")
        error = last.locator(".error")
        await error.wait_for(state="visible")
        assert await error.inner_text() == "សីតុណ្ហភាពត្រូវនៅចន្លោះ 34 និង 43 °C"
        assert await last.locator(".temperature").get_attribute("aria-invalid") == "true"
        assert await _checkins(rt) == 20
        assert (await client.get(f"/episodes/{names[INVALID]}", headers=ADMIN)).json()["last_checkin"] is None

        # Supplies: medicine restocked, no longer low; beds cannot go below the people staying.
        medicine = page.locator('#supplies tr[data-item="medicine"]')
        assert await medicine.locator(".low").is_visible()
        await medicine.locator(".quantity").fill("400")
        await medicine.locator(".save-supply").click()
        await medicine.locator(".low").wait_for(state="hidden")
        facility = (await client.get("/facilities/QF-1", headers=ADMIN)).json()
        assert facility["low_stock"] == [] and facility["supplies"][0]["quantity"] == 400
        await page.fill("#capacity", "10")
        await page.press("#capacity", "Enter")
        await page.wait_for_selector("#capacity-error:not(:empty)")
        assert await page.text_content("#capacity-error") == "ចំនួនគ្រែមិនអាចតិចជាងអ្នកស្នាក់នៅបានទេ"
        assert (await client.get("/facilities/QF-1", headers=ADMIN)).json()["capacity"] == 30

        assert await serious_accessibility_violations(page) == []
        await page.evaluate("window.scrollTo(0, 0)")
        # The top of the round (21 rows in full would make a picture of 3,500 pixels).
        await page.screenshot(path=SCREENSHOTS / "quarantine-staff-km.png")

        # The same error, in English, after switching language; the page's language follows.
        await page.click("#lang")
        await page.wait_for_function("document.documentElement.lang === 'en'")
        assert await error.inner_text() == "Temperature must be between 34 and 43 °C"
        assert await page.text_content("h1") == "Quarantine facility"
        assert "Day 1 of 14" in await rows.nth(0).inner_text()
        assert await serious_accessibility_violations(page) == []
        assert token not in await page.evaluate("Object.values(localStorage).join(' ')")
        await context.close()


async def _placed_count(client, expected: int) -> bool:
    return len(await _placed(client)) == expected
