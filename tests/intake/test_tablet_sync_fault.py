"""The tablet's queue through a link that drops mid-sync, then re-sent twice at once and in another order.

Real headless Chromium on the real page; the test stands between the page and the intake service as the
network: it forwards each POST to the service (which commits it) and can lose the answer on the way back.
The tablet sends its queue in batches (POST /returnees/batch), so a lost answer leaves a whole batch that
the service has committed and the tablet still holds as waiting.
"""

import asyncio

from shared.contracts.intake import ReturneeRegistered
from shared.contracts.topics import RETURNEE
from tests.factories import POIPET
from tests.intake.conftest import OFFICER
from tests.intake.test_tablet_browser import TOKEN, _register
from tests.waiting import wait_until
from tests.web import serving

PEOPLE = [
    ("សុខ ចន្ទា", "Sok Chanda", "F", "31"),
    ("ចាន់ ដារ៉ា", "Chan Dara", "M", "34"),
    ("ម៉ៅ ស្រីពៅ", "Mao Sreypov", "F", "27"),
    ("កែវ វណ្ណា", "Keo Vanna", "M", "45"),
]
DROPPED_AT = 1  # the link goes down while the first batch's answer is on its way back

QUEUE = (
    "new Promise(r => indexedDB.open('intake').onsuccess = e => "
    "e.target.result.transaction('queue').objectStore('queue').getAll().onsuccess = g => r(g.target.result))"
)
# The queue sent again from the page's own store and fetch, newest first: the reverse of the tablet's order.
RESEND_REVERSED = """async () => {
  const records = (await queueAll()).sort((a, b) => b.created - a.created);
  const sent = [];
  for (const r of records) {
    const response = await authFetch("/returnees/batch", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ registrations: [r.body] }),
    });
    sent.push([r.id, (await response.json())[0].status]);
  }
  return sent;
}"""


class FlakyLink:
    """Forwards each batch to the service; `dropping`, it loses the Nth answer and then stays down."""

    def __init__(self, drop_at: int):
        self.drop_at = drop_at
        self.dropping = True
        self.batches = 0
        self.delivered: list[tuple[str, int]] = []  # (registration id, status), in the server's order
        self.lost: list[str] = []

    async def __call__(self, route) -> None:
        request = route.request
        if request.method != "POST":
            await route.continue_()
            return
        if self.lost and self.dropping:
            await route.abort("internetdisconnected")  # still down: a timed retry never reaches the service
            return
        response = await route.fetch()  # the service has handled and committed it by now
        answers = await response.json()
        self.delivered += [(a["id"], a["status"]) for a in answers]
        self.batches += 1
        if self.dropping and self.batches == self.drop_at:
            self.lost += [a["id"] for a in answers]
            await route.abort("connectionreset")
        else:
            await route.fulfill(response=response)


async def _states(page) -> dict[str, str]:
    return {r["id"]: r["state"] for r in await page.evaluate(QUEUE)}


async def _queue_offline(page) -> None:
    """Four registrations made without a connection, the second with a child travelling along."""
    for i, (name_km, name_latin, sex, age) in enumerate(PEOPLE):
        await _register(
            page, name_km=name_km, name_latin=name_latin, sex=sex, age=age, village_query="angkrong"
        )
        if i == 1:
            await page.click("#add-member")
            member = page.locator(".member").last
            await member.locator(".m-name_km").fill("ចាន់ ស្រីនាង")
            await member.locator(".m-name_latin").fill("Chan Sreyneang")
            await member.locator(".m-sex").select_option("F")
            await member.locator(".m-age_years").fill("6")
            await member.locator(".m-temperature_c").fill("36.5")
        await page.click("#submit")
        # The form clears once the registration is on the tablet; typing on before that races it.
        await wait_until(lambda n=i + 1: _pending(page, n), what=f"{i + 1} registrations queued offline")


async def _pending(page, expected: int) -> bool:
    return list((await _states(page)).values()).count("pending") == expected


async def _open_tablet(context, base: str):
    page = await context.new_page()
    await page.goto(f"{base}/tablet/")
    await page.wait_for_selector("#app:not([hidden])")
    return page


async def test_queue_resent_twice_in_another_order_after_a_dropped_answer(stack, browser):
    intake = await stack.start("intake")
    link = FlakyLink(drop_at=DROPPED_AT)
    async with serving(intake.app) as base:
        # No service worker: the test must see every request the page makes, and this one needs no reload.
        context = await browser.new_context(service_workers="block")
        await context.add_init_script(
            f"localStorage.setItem('intake.lang', 'en'); sessionStorage.setItem('intake.token', '{TOKEN}');"
        )
        await context.route("**/returnees/batch", link)
        first = await _open_tablet(context, base)
        await wait_until(lambda: first.evaluate("gaz.byProvince.has('14')"), timeout=30, what="Prey Veng")

        await context.set_offline(True)
        await _queue_offline(first)
        queued = sorted((await first.evaluate(QUEUE)), key=lambda r: r["created"])
        heads = [r["id"] for r in queued]
        people = set(heads) | {m["id"] for r in queued for m in r["body"]["members"]}
        assert len(people) == 5

        # Back online: the queue goes oldest first in one batch, whose answer is lost on the way back.
        await context.set_offline(False)
        await wait_until(lambda: len(link.lost) == 4, what="the batch's answer lost")
        await wait_until(lambda: first.evaluate("!syncing"), what="the tablet's sync round over")
        states = await _states(first)
        assert link.lost == heads and [states[h] for h in heads] == ["pending"] * 4
        # The service has them though: the registrations a careless re-send would duplicate.
        for head in heads:
            assert (await intake.client.get(f"/returnees/{head}", headers=OFFICER)).status_code == 200

        # The link is back. The queue is re-sent twice at once: by this tab's own sync, oldest first, and
        # by a second tab of the same tablet, which syncs as it opens and resends all of it newest first.
        link.dropping = False
        second = await _open_tablet(context, base)
        resent, _ = await asyncio.gather(second.evaluate(RESEND_REVERSED), first.click("#sync"))
        assert [rid for rid, _status in resent] == heads[::-1]
        await wait_until(lambda: _pending(first, 0), what="the queue drained")
        await first.reload()
        await first.wait_for_selector("#app:not([hidden])")
        await wait_until(
            lambda: first.evaluate("document.querySelector('#pending').dataset.count === '0'"),
            what="nothing waiting on screen",
        )
        final = await _states(first)
        rows = await first.locator("#records li.rec").evaluate_all("els => els.map(e => e.dataset.state)")
        await context.close()

    # Every registration crossed the link at least twice, in both orders, and none was refused or created
    # twice: one 201 each, every other answer the stored record (200).
    order = [rid for rid, _status in link.delivered]
    assert all(order.count(h) >= 2 for h in heads), order
    assert list(dict.fromkeys(order)) == heads  # first sent oldest first, as queued
    statuses = {h: [s for rid, s in link.delivered if rid == h] for h in heads}
    assert all(s.count(201) == 1 and set(s) <= {200, 201} for s in statuses.values()), statuses
    # The tablet: every item marked sent, nothing waiting, nothing rejected, no new id made on re-send.
    assert final == dict.fromkeys(heads, "synced")
    assert rows == ["synced"] * 4

    page = await intake.client.get(
        "/returnees", params={"checkpoint_id": POIPET, "limit": 50}, headers=OFFICER
    )
    assert page.status_code == 200
    assert page.json()["total"] == 5
    assert {item["id"] for item in page.json()["items"]} == people

    events = await stack.events(RETURNEE, expect=5, timeout=30, settle=1.5)
    assert all(isinstance(e, ReturneeRegistered) for _, e in events)
    ids = [str(e.returnee_id) for _, e in events]
    assert len(ids) == 5 and set(ids) == people, ids
