"""Notify with the real Kannel (bearerbox + smsbox) and its fake SMS centre, as deploy/kannel.sh runs them."""

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notify.domain import ERROR_REPLY, AlertFacts, Command, render_alert, render_reply
from services.notify.models import Reply
from shared.contracts.notify import AlertSent, VisitRecorded
from shared.contracts.topics import FOLLOWUP
from tests.infra.kannel_log import read_sent, wait_for_sms
from tests.notify.conftest import (
    dispatched,
    free_port,
    phone,
    port_answers,
    registered,
    serving,
    start_notify,
    villages,
)
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
KANNEL_SH = ROOT / "deploy" / "kannel.sh"
NOTIFY_PORT = 8004  # where kannel.conf's sms-service sends replies (NOTIFY_URL)
LONG_NAME_KM = "សម្តេចអគ្គមហាសេនាបតីតេជោ ព្រះករុណា ស្រីសុវណ្ណរតនាវិសុទ្ធិធិបតី"


async def kannel_sh(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec("bash", str(KANNEL_SH), *args)
    assert await asyncio.wait_for(proc.wait(), 90) == 0, f"deploy/kannel.sh {args[0]} failed"


async def sms_to(number: str, text: str | None = None, timeout: float = 20):
    """The SMS the fake SMS centre got for `number` (with exactly `text`, if given)."""
    return await asyncio.to_thread(
        wait_for_sms, lambda s: s.receiver == number and text in (None, s.text), timeout
    )


def count_sms_to(number: str) -> int:
    return sum(1 for s in read_sent() if s.receiver == number)


async def test_a_dispatched_returnee_gets_one_khmer_sms_and_its_report(notify, kannel) -> None:
    chief = phone()
    village, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    person = registered(village.code, name_km=LONG_NAME_KM)
    manifest = dispatched(person)
    await notify.publish(person, manifest)
    await notify.publish(manifest)  # the same dispatch again

    [row] = await notify.wait_state("delivered", returnee_id=person.returnee_id, channel="sms")
    assert row.sent_at and row.delivered_at and row.dlr_status == 1
    followup = await notify.followup(person.returnee_id)
    facts = AlertFacts(
        name=LONG_NAME_KM,
        sex="F",
        age=person.age_years,
        village=village.name_km,
        code=followup.code,
        when=manifest.expected_arrival,
    )
    expected = render_alert("dispatched", "km", facts)
    sms = await sms_to(chief)
    assert sms.text == expected  # decoded back from UCS-2, exactly
    assert sms.sender == notify.rt.settings.sms_sender
    # Both dispatches are consumed (publish waits for it): a second SMS could only come from a second
    # delivery row or a resend of this one, and a delivered row is final.
    assert [(r.state, r.attempts) for r in await notify.deliveries(returnee_id=person.returnee_id)] == [
        ("delivered", 1)
    ]
    assert count_sms_to(chief) == 1
    events = [e for _, e in await notify.stack.events(FOLLOWUP, expect=1)]
    assert [(e.channel, e.reason) for e in events if isinstance(e, AlertSent)] == [("sms", "dispatched")]


async def test_an_alert_dispatched_before_the_registration_goes_out_when_the_registration_arrives(
    stack, kannel
) -> None:
    # The worker polls once an hour here: only the registration's commit can set the alert off.
    port = free_port()
    notify = await start_notify(stack, port=port, delivery_poll_seconds=3600)
    async with serving(notify.service.app, port):
        chief = phone()
        village, commune = villages()
        await notify.contact(commune.code, phone_number=chief)
        person = registered(village.code)
        manifest = dispatched(person)
        await notify.publish(manifest)  # the transfers topic ran ahead of the returnees topic
        [row] = await notify.deliveries(returnee_id=person.returnee_id)
        assert (row.state, row.attempts, row.body) == ("waiting", 0, None)

        await notify.publish(person)
        consumed = notify.rt.clock.now()
        [row] = await notify.wait_state("delivered", returnee_id=person.returnee_id)
        assert row.attempts == 1 and row.sent_at - consumed < timedelta(seconds=1)
        followup = await notify.followup(person.returnee_id)
        facts = AlertFacts(
            name=person.name_km,
            sex="F",
            age=person.age_years,
            village=village.name_km,
            code=followup.code,
            when=manifest.expected_arrival,
        )
        assert (await sms_to(chief)).text == render_alert("dispatched", "km", facts)
        assert count_sms_to(chief) == 1
        events = [e for _, e in await notify.stack.events(FOLLOWUP, expect=1)]
        assert [e.returnee_id for e in events if isinstance(e, AlertSent)] == [person.returnee_id]


@pytest.fixture
async def notify_on_8004(stack, kannel):
    """Notify at the address Kannel forwards replies to."""
    if port_answers(NOTIFY_PORT):
        pytest.skip(
            f"127.0.0.1:{NOTIFY_PORT} is taken (a notify already running?): Kannel's replies go there"
        )
    n = await start_notify(stack, port=NOTIFY_PORT)
    async with serving(n.service.app, NOTIFY_PORT):
        yield n


async def test_replies_injected_at_the_sms_centre_reach_notify_through_smsbox(notify_on_8004) -> None:
    notify = notify_on_8004
    chief, stranger = phone(), phone()
    village, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    first, second = registered(village.code), registered(village.code)
    await notify.publish(first, second, dispatched(first, second))
    code1 = (await notify.followup(first.returnee_id)).code
    code2 = (await notify.followup(second.returnee_id)).code
    sender = notify.rt.settings.sms_sender

    await kannel_sh("inject", chief, sender, f"VISIT {code1}")
    await wait_until(lambda: _visited(notify, first), what="visit recorded")
    await sms_to(chief, render_reply(Command.visit, "km", code1))

    await kannel_sh("inject", stranger, sender, f"សួរ {code2}")  # the right code from the wrong phone
    await wait_until(lambda: _replied(notify, stranger), what="the stranger's reply recorded")
    assert (await notify.followup(second.returnee_id)).visited_at is None
    # A number that is no contact gets no answer: it could be a premium number making us pay.
    assert [d for d in await notify.deliveries(reason="reply") if d.to_phone == stranger] == []
    await kannel_sh("inject", chief, sender, "VISIT")  # the chief's own typo is answered
    await sms_to(chief, ERROR_REPLY)

    await kannel_sh("inject", chief, sender, f"សួរ {code2}")  # Khmer keyword from the chief
    await wait_until(lambda: _visited(notify, second), what="second visit recorded")
    events = [e for _, e in await notify.stack.events(FOLLOWUP, expect=2)]
    visits = [e.returnee_id for e in events if isinstance(e, VisitRecorded)]
    assert sorted(visits) == sorted([first.returnee_id, second.returnee_id])


async def _replied(notify, number: str) -> bool:
    async with notify.rt.sessions() as session:
        return await session.scalar(select(Reply.id).where(Reply.sender == number)) is not None


async def _visited(notify, person) -> bool:
    followup = await notify.followup(person.returnee_id)
    return followup.visited_at is not None


@pytest.mark.skipif(
    os.environ.get("KANNEL_RESTART_TESTS") != "1",
    reason="stops the shared Kannel: runs only with KANNEL_RESTART_TESTS=1",
)
async def test_alerts_queue_while_kannel_is_down_and_each_goes_once_after_restart(stack, kannel) -> None:
    port = free_port()
    notify = await start_notify(stack, port=port, delivery_max_attempts=1000)
    async with serving(notify.service.app, port):
        chiefs, people = [], []
        for i in range(3):
            village, commune = villages(i)
            chiefs.append(phone())
            await notify.contact(commune.code, phone_number=chiefs[-1])
            people.append(registered(village.code))
        await kannel_sh("stop")
        try:
            await notify.publish(*people, dispatched(*people))

            async def all_waiting():
                rows = await notify.deliveries(channel="sms")
                return len(rows) == 3 and all(r.state == "queued" and r.attempts >= 2 for r in rows)

            await wait_until(all_waiting, timeout=30, what="alerts queued and retried while Kannel is down")
            assert all(count_sms_to(c) == 0 for c in chiefs)
        finally:
            await kannel_sh("start")
        await notify.wait_state("delivered", timeout=60, channel="sms")
        for chief in chiefs:
            await sms_to(chief)
        # One row per chief, each final: nothing is left that could send a second SMS.
        assert [r.state for r in await notify.deliveries(channel="sms")] == ["delivered"] * 3
        assert [count_sms_to(c) for c in chiefs] == [1, 1, 1]
