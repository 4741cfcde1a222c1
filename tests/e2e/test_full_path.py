"""The definition of done: one returnee's whole path through every service, over Kafka, PostgreSQL and Kannel.

Each step is checked where its user sees it (the API) and where the other services hear of it (the events).
"""

import asyncio
import json
import logging
import random
import string
from contextlib import AsyncExitStack
from datetime import timedelta
from urllib.parse import quote, quote_plus

from services.notify.domain import Command, render_reply
from shared.contracts.intake import ReturneeRegistered
from shared.contracts.notify import AlertSent, SelfIsolationCheckin, VisitRecorded
from shared.contracts.quarantine import QuarantineCompleted, QuarantineStarted
from shared.contracts.topics import EPISODE, FOLLOWUP, RETURNEE, TRANSFER
from shared.contracts.transport import HandedOver, ManifestDispatched
from tests.e2e.conftest import (
    ADMIN,
    BATTAMBANG_WG,
    BORDER_PROVINCE,
    HOME_COMMUNE,
    HOME_PROVINCE,
    HOME_VILLAGE,
    OFFICER,
    POIPET,
    PREY_VENG_WG,
    chief_phone,
    digits,
    khmer_name,
    start_journey,
)
from tests.infra.kannel_log import read_sent, wait_for_sms
from tests.waiting import wait_until

RECEIVED_TO_VISITED = ("received", "released", "transported", "handed_over", "visited")


def of_type(events, cls) -> list:
    return [e for _, e in events if isinstance(e, cls)]


async def sms_for(phone: str, name_km: str):
    """The SMS the fake SMS centre got for `phone` naming this run's returnee, decoded from UCS-2."""
    return await asyncio.to_thread(wait_for_sms, lambda s: s.receiver == phone and name_km in s.text, 20)


def sms_count(phone: str, name_km: str) -> int:
    return sum(1 for s in read_sent() if s.receiver == phone and name_km in s.text)


async def test_a_returnee_from_poipet_comes_home_to_prey_veng(stack, kannel, capfd) -> None:
    async with AsyncExitStack() as exits:
        j = await start_journey(stack, exits)
        await j.seed_facilities()
        chief = chief_phone()
        await j.add_chief(chief)
        await j.add_vehicle()
        name_km = khmer_name()

        # Poipet's checkpoint officer registers her; the border policy sends her to a facility first.
        body = j.registration(
            name_km=name_km, name_latin="Sok Dara", phone="097 " + digits(7), id_number="N" + digits(9)
        )
        # As the tablet sends its queue (static/app.js): in a batch, where each household's own id becomes
        # the correlation id of what follows from it.
        answer = await j.intake.client.post(
            "/returnees/batch", json={"registrations": [body]}, headers=OFFICER
        )
        assert answer.status_code == 200, answer.text
        [item] = answer.json()
        assert item["status"] == 201 and item["id"] == body["id"], item
        registered = item["registration"]
        rid = registered["id"]
        assert registered["policy"] == "border"
        assert registered["home_village_code"] == HOME_VILLAGE
        [(envelope, event)] = await stack.events(RETURNEE, expect=1)
        assert isinstance(event, ReturneeRegistered) and envelope.correlation_id == body["id"]
        assert (str(event.returnee_id), event.checkpoint_id, event.policy) == (rid, POIPET, "border")

        # Quarantine places her in a Banteay Meanchey facility.
        episode = await wait_until(lambda: j.episode(rid, status="placed"), what="a bed in Banteay Meanchey")
        facility = await j.get("quarantine", f"/facilities/{episode['facility_id']}", ADMIN)
        assert facility["province_code"] == BORDER_PROVINCE
        assert (episode["mode"], episode["province_code"]) == ("border", BORDER_PROVINCE)
        [(envelope, started)] = await stack.events(EPISODE, expect=1)
        assert isinstance(started, QuarantineStarted) and envelope.correlation_id == body["id"]
        assert (str(started.returnee_id), started.facility_id) == (rid, episode["facility_id"])
        transfer = await wait_until(lambda: j.transfer(rid), what="transport heard of her")
        assert transfer["ready"] is False  # not before her 14 days are over
        assert (transfer["origin_province_code"], transfer["destination_province_code"]) == ("01", "14")

        # Fourteen days later the scheduler releases her.
        j.advance(timedelta(days=14))
        episode = await wait_until(lambda: j.episode(rid, status="completed"), what="release on day 14")
        assert episode["completed_on"] == str(j.quarantine.runtime.clock.today())
        [completed] = of_type(await stack.events(EPISODE, expect=2), QuarantineCompleted)
        assert str(completed.returnee_id) == rid

        # Transport takes her home to Prey Veng.
        manifest = await j.send_home(rid)
        [dispatched] = of_type(await stack.events(TRANSFER, expect=1), ManifestDispatched)
        assert str(dispatched.manifest_id) == manifest["id"]
        assert dispatched.destination_province_code == HOME_PROVINCE
        assert [str(p.returnee_id) for p in dispatched.passengers] == [rid]

        # Notify tells the chief of her commune, once, in Khmer, through Kannel.
        followup = await wait_until(lambda: j.followup(rid), what="the follow-up opened")
        assert followup["commune_code"] == HOME_COMMUNE
        sms = await sms_for(chief, name_km)
        assert sms.sender == j.notify.runtime.settings.sms_sender
        assert followup["code"] in sms.text
        assert "ពលករវិលត្រឡប់" in sms.text  # the Khmer template, decoded back from UCS-2
        [(envelope, alert)] = await stack.events(FOLLOWUP, expect=1, settle=1.5)
        assert isinstance(alert, AlertSent) and envelope.correlation_id == body["id"]
        assert (str(alert.returnee_id), alert.reason, alert.channel) == (rid, "dispatched", "sms")
        assert sms_count(chief, name_km) == 1
        assert sum(1 for s in read_sent() if s.receiver == chief) == 1
        # ...and notify's log line for the SMS is found by the tablet's id.
        sent_lines = [
            line
            for line in capfd.readouterr().out.splitlines()
            if '"alert handed to gateway"' in line and body["id"] in line
        ]
        [sent_line] = [json.loads(line) for line in sent_lines]
        # (In one test process the last service to start owns the log handler, so "service" is not notify's.)
        assert (sent_line["logger"], sent_line["channel"]) == ("services.notify.worker", "sms")
        assert sent_line["correlation_id"] == body["id"] and sent_line["outcome"] == "accepted"

        # At the destination the Prey Veng transport officer hands her over.
        handed = await j.hand_over(manifest["id"], rid)
        assert handed["status"] == "closed"
        assert [p["stage"] for p in handed["passengers"]] == ["handed_over"]
        transfer_events = await stack.events(TRANSFER, expect=2)
        [handed_over] = of_type(transfer_events, HandedOver)
        assert str(handed_over.returnee_id) == rid

        # The chief visits her and replies by SMS; notify records the visit.
        await wait_until(
            lambda: _followup_has(j, rid, "handed_over_at"), what="notify heard of the hand-over"
        )
        await j.sms_reply(chief, f"VISIT {followup['code']}")
        await wait_until(lambda: _followup_has(j, rid, "visited_at"), what="the visit recorded")
        followup_events = await stack.events(FOLLOWUP, expect=3)
        [visit] = of_type(followup_events, VisitRecorded)
        assert (str(visit.returnee_id), visit.commune_code) == (rid, HOME_COMMUNE)
        alerts = of_type(followup_events, AlertSent)
        assert sorted(a.reason for a in alerts) == ["dispatched", "handed_over"]
        thanks = render_reply(Command.visit, "km", followup["code"])
        await asyncio.to_thread(wait_for_sms, lambda s: s.receiver == chief and s.text == thanks, 20)

        # Prey Veng's working group counts her at every step; Battambang's sees none of it.
        async def prey_veng_counts():
            totals = (await j.summary(PREY_VENG_WG, area=HOME_PROVINCE))["totals"]
            return all(totals[k] == 1 for k in RECEIVED_TO_VISITED) and totals

        totals = await wait_until(prey_veng_counts, timeout=20, what="the dashboard's Prey Veng figures")
        assert totals["received"] == totals["screened"] == 1
        assert (totals["referred"], totals["in_quarantine"], totals["overdue"]) == (0, 0, 0)
        status = (await j.summary(PREY_VENG_WG, area=HOME_PROVINCE))["status"]
        assert status["handed_over"] == 1 and sum(status.values()) == 1
        communes = await j.get("dashboard", "/stats/areas", PREY_VENG_WG, area="1401")
        [row] = [c for c in communes if c["code"] == HOME_COMMUNE]
        assert all(row[k] == 1 for k in RECEIVED_TO_VISITED)

        battambang = await j.summary(BATTAMBANG_WG)
        assert all(v == 0 for v in battambang["totals"].values()), battambang["totals"]
        assert sum(battambang["status"].values()) == 0
        r = await j.dashboard.client.get("/stats/summary", params={"area": "14"}, headers=BATTAMBANG_WG)
        assert r.status_code == 404


async def _followup_has(j, rid: str, field: str) -> bool:
    followup = await j.followup(rid)
    return bool(followup and followup[field])


# --- no personal data in logs or metrics -----------------------------------------------------------------


class _Everything(logging.Handler):
    """Keeps every attribute of every record, so a value passed as an argument or extra is seen too."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() if record.args else str(record.msg)
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{text} {record.__dict__!r} {exc}")


def forms(value: str) -> set[str]:
    """A value as it could show up in a log line: as is, JSON-escaped, URL-encoded, lower case."""
    return {
        value,
        value.lower(),
        json.dumps(value)[1:-1],  # python-json-logger escapes non-ASCII by default
        quote(value),
        quote_plus(value),
    }


async def test_no_personal_data_in_logs_or_metrics(stack, kannel, capfd) -> None:
    secret_digits = "9" + digits(8)
    name_latin = "Canary" + "".join(random.choices(string.ascii_lowercase, k=6)) + " Sokha"
    name_km = khmer_name()
    id_number = "CANARY" + digits(8)
    canaries = {
        "name_latin": forms(name_latin) | forms(name_latin.split()[0]),
        "name_km": forms(name_km) | forms(name_km.split()[1]),
        # As typed, national, E.164 with and without '+' (the bare 9 digits would match by chance).
        "phone": {f"0{secret_digits[:2]} {secret_digits[2:]}", f"0{secret_digits}", f"855{secret_digits}"}
        | {f"+855{secret_digits}", quote(f"+855{secret_digits}")},
        "id_number": forms(id_number),
    }

    everything = _Everything()
    async with AsyncExitStack() as exits:
        # Home policy: the shortest path through every service, with SMS replies that feed quarantine.
        j = await start_journey(
            stack,
            exits,
            **{name: {"log_level": "DEBUG"} for name in ("quarantine", "transport", "notify", "dashboard")},
            intake={"default_policy": "home", "log_level": "DEBUG"},
        )
        identity = await stack.start("identity", log_level="DEBUG")
        logging.getLogger().addHandler(everything)
        exits.callback(logging.getLogger().removeHandler, everything)
        # Proof that a DEBUG record of any logger reaches both captures (the services log very little).
        logging.getLogger("services.e2e").debug("e2e probe")
        chief = chief_phone()
        await j.add_chief(chief)
        await j.add_vehicle()

        body = j.registration(
            name_km=name_km, name_latin=name_latin, phone=f"0{secret_digits}", id_number=id_number
        )
        refused = await j.intake.client.post(
            "/returnees", json=body | {"consent": False}, headers=OFFICER
        )  # a refusal must not log what it refused either
        assert refused.status_code == 422
        rid = (await j.register(body))["id"]
        found = await j.get("intake", "/returnees", OFFICER, q=name_latin.split()[0])
        assert [r["id"] for r in found["items"]] == [rid]

        manifest = await j.send_home(rid)
        followup = await wait_until(lambda: j.followup(rid), what="the follow-up opened")
        await sms_for(chief, name_km)
        await j.hand_over(manifest["id"], rid)
        await wait_until(lambda: j.episode(rid, status="home"), what="home isolation started")
        await wait_until(lambda: _followup_has(j, rid, "handed_over_at"), what="notify heard of it")
        await j.sms_reply(chief, f"VISIT {followup['code']}")
        await j.sms_reply(chief, f"OK {followup['code']}")
        checkins = of_type(await stack.events(FOLLOWUP, expect=4), SelfIsolationCheckin)
        assert [str(c.returnee_id) for c in checkins] == [rid]
        await wait_until(lambda: _has_checkin(j, rid), what="quarantine recorded the commune's check-in")

        async def counted():
            totals = (await j.summary(PREY_VENG_WG, area=HOME_PROVINCE))["totals"]
            return totals["handed_over"] == 1 and totals["visited"] == 1

        await wait_until(counted, what="the dashboard counted the canary")
        scraped = {}
        for name, service in {**j.s, "identity": identity}.items():
            r = await service.client.get("/metrics")
            assert r.status_code == 200
            scraped[name] = r.text

    captured = capfd.readouterr()
    logs = captured.out + captured.err
    assert logs.count('"message": "service started"') == 6  # every service's JSON lines were captured
    assert "e2e probe" in logs and any("e2e probe" in line for line in everything.lines)
    places = {"stdout/stderr": logs, "log records": "\n".join(everything.lines), **scraped}
    leaks = [
        (what, where)
        for what, values in canaries.items()
        for where, text in places.items()
        if any(v in text for v in values)
    ]
    assert not leaks, f"personal data found in: {leaks}"
    # The scrape saw the flow itself: requests served and events consumed.
    assert 'route="/returnees"' in scraped["intake"]
    assert "border_events_consumed_total" in scraped["dashboard"]


async def _has_checkin(j, rid: str) -> bool:
    episode = await j.episode(rid)
    return bool(episode and any(c["source"] == "commune" for c in episode["checkins"]))
