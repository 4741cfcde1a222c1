"""Notify over the real broker and PostgreSQL: contacts, scope, webhooks, replies, escalation."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify import handlers
from services.notify.api import router
from services.notify.domain import ERROR_REPLY
from services.notify.gateways import Outcome, Result
from services.notify.models import Contact, Returnee
from shared.contracts.notify import FollowupCompleted, FollowupOverdue, SelfIsolationCheckin, VisitRecorded
from shared.contracts.quarantine import SymptomsReported
from shared.contracts.topics import FOLLOWUP
from tests.conftest import bearer
from tests.notify.conftest import (
    ADMIN,
    dispatched,
    free_port,
    handed_over,
    phone,
    registered,
    serving,
    start_notify,
    villages,
)
from tests.waiting import wait_until


class Receiver:
    """A webhook endpoint answering the given statuses in turn (the last one repeats)."""

    def __init__(self, *statuses: int, location: str | None = None):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        self.app = FastAPI()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests.append((dict(request.headers), await request.body()))
            code = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return Response(status_code=code, headers={"location": location} if location else None)


async def _dispatch_one(notify, *, chief_phone: str, webhook_url: str | None = None, policy="home"):
    village, commune = villages()
    contact = await notify.contact(commune.code, phone_number=chief_phone, webhook_url=webhook_url)
    person = registered(village.code, policy=policy)
    manifest = dispatched(person)
    await notify.publish(person, manifest)
    return person, manifest, contact


def _has_rule(dependant) -> bool:
    return any(
        getattr(d.call, "roles", None) or getattr(d.call, "public", False) or _has_rule(d)
        for d in dependant.dependencies
    )


def test_every_route_has_an_access_rule() -> None:
    # Walks notify's own router: this FastAPI wraps included routers, which hides them from
    # shared.web.auth.routes_without_a_rule(app).
    assert [r.path for r in router.routes if not _has_rule(r.dependant)] == []
    public = {
        r.path
        for r in router.routes
        if not any(getattr(d.call, "roles", None) for d in r.dependant.dependencies)
    }
    assert public == {"/kannel/inbound", "/kannel/dlr", "/notify/config.json", "/notify/messages.json"}


async def test_webhook_500_then_200_arrives_once_with_a_signature_that_verifies(notify) -> None:
    receiver = Receiver(500, 200)
    async with serving(receiver.app, receiver.port):
        person, _, contact = await _dispatch_one(notify, chief_phone=phone(), webhook_url=receiver.url)
        [row] = await notify.wait_state("delivered", returnee_id=person.returnee_id, channel="webhook")
    assert row.attempts == 2
    assert len(receiver.requests) == 2
    (first, _), (headers, body) = receiver.requests
    assert first["webhook-id"] == headers["webhook-id"] == str(row.id)  # a retry keeps its id
    verifier = Webhook(contact["webhook_secret"])
    payload = verifier.verify(body, headers)
    assert payload["type"] == "followup.dispatched"
    assert payload["data"]["name_km"] == person.name_km
    assert payload["data"]["returnee_id"] == str(person.returnee_id)

    tampered = {**headers, "webhook-signature": "v1," + "A" * 44}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, tampered)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    resigned = {
        **headers,
        "webhook-timestamp": str(int(stale.timestamp())),
        "webhook-signature": verifier.sign(headers["webhook-id"], stale, body.decode()),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(body, resigned)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "B" * 32).verify(body, headers)  # another endpoint's secret


async def test_webhook_410_disables_the_endpoint_and_redirects_are_not_followed(notify) -> None:
    gone = Receiver(410)
    moved = Receiver(302, location="http://127.0.0.1:1/elsewhere")
    async with serving(gone.app, gone.port), serving(moved.app, moved.port):
        person, _, _ = await _dispatch_one(notify, chief_phone=phone(), webhook_url=gone.url)
        [row] = await notify.wait_state("failed", returnee_id=person.returnee_id, channel="webhook")
        assert "410" in row.last_error
        async with notify.rt.sessions() as session:
            contact = await session.get(Contact, row.recipient_area)
        assert contact.webhook_disabled
        assert len(gone.requests) == 1

        village, commune = villages(1)
        await notify.contact(commune.code, phone_number=phone(), webhook_url=moved.url)
        other = registered(village.code)
        await notify.publish(other, dispatched(other))
        [row] = await notify.wait_state("failed", returnee_id=other.returnee_id, channel="webhook")
    assert "redirect" in row.last_error
    assert len(moved.requests) == 1  # no retry, and the Location was never fetched


async def test_private_webhook_urls_are_refused_unless_allowed(stack) -> None:
    notify = await start_notify(stack, webhooks_allow_private=False)
    _, commune = villages()
    for url in ("http://127.0.0.1:8080/hook", "http://10.0.0.5/hook", "http://localhost/hook"):
        body = {"name": "Chief", "phone": "012345678", "webhook_url": url}
        r = await notify.client.put(f"/contacts/{commune.code}", json=body, headers=ADMIN)
        assert r.status_code == 422, url
        assert "webhook_url" in r.text
    r = await notify.client.get("/contacts", headers=ADMIN)
    assert r.json() == []  # nothing stored


async def test_contacts_are_kept_by_their_province(notify) -> None:
    wg = bearer(("provincial_wg", "01"))
    _, commune = villages()
    r = await notify.client.put(
        f"/contacts/{commune.code}", json={"name": "Chief", "phone": "012 345 678"}, headers=wg
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "85512345678" and r.json()["level"] == "commune"
    assert (
        await notify.client.put("/contacts/0102", json={"name": "D", "phone": "012000111"}, headers=wg)
    ).is_success
    # Battambang (02) is another province's: as if it did not exist.
    r = await notify.client.put("/contacts/020101", json={"name": "X", "phone": "012000000"}, headers=wg)
    assert r.status_code == 404
    r = await notify.client.put("/contacts/999999", json={"name": "X", "phone": "012000000"}, headers=wg)
    assert r.status_code == 422 and "area_code" in r.text
    r = await notify.client.put(
        f"/contacts/{commune.code}", json={"name": "X", "phone": "call me"}, headers=wg
    )
    assert r.status_code == 422 and "phone" in r.text
    r = await notify.client.put(
        f"/contacts/{commune.code}", json={"name": "X", "phone": "012000000", "language": "fr"}, headers=wg
    )
    assert r.status_code == 422 and "language" in r.text
    await notify.contact("020101", phone_number="012999999")  # the national admin may
    r = await notify.client.get("/contacts", headers=wg)
    assert [c["area_code"] for c in r.json()] == ["0102", commune.code]
    assert r.json()[1]["phone"] == "85512345678"  # the refused edits stored nothing
    chief = bearer(("commune_chief", commune.code))
    assert (await notify.client.get("/contacts", headers=chief)).status_code == 403
    assert (await notify.client.delete("/contacts/020101", headers=wg)).status_code == 404
    assert (await notify.client.delete("/contacts/0102", headers=wg)).status_code == 204


async def test_followups_and_deliveries_are_seen_only_in_scope(notify) -> None:
    (village_a, commune_a), (village_b, commune_b) = villages(0), villages(40)
    await notify.contact(commune_a.code, phone_number=phone())
    await notify.contact(commune_b.code, phone_number=phone())
    a, b = registered(village_a.code), registered(village_b.code)
    await notify.publish(a, b, dispatched(a, b))
    await wait_until(lambda: notify.deliveries(returnee_id=b.returnee_id), what="b's alert queued")
    [row_b] = await notify.deliveries(returnee_id=b.returnee_id)

    chief_a = bearer(("commune_chief", commune_a.code))
    r = await notify.client.get("/followups", headers=chief_a)
    assert [f["returnee_id"] for f in r.json()] == [str(a.returnee_id)]
    assert (await notify.client.get(f"/followups/{b.returnee_id}", headers=chief_a)).status_code == 404
    assert (await notify.client.get(f"/deliveries/{row_b.id}", headers=chief_a)).status_code == 404
    r = await notify.client.get("/deliveries", headers=chief_a)
    assert {d["returnee_id"] for d in r.json()} == {str(a.returnee_id)}

    district_b = bearer(("district_officer", commune_b.code[:4]))
    assert (await notify.client.get(f"/deliveries/{row_b.id}", headers=district_b)).status_code == 200
    province = bearer(("provincial_wg", "01"))
    r = await notify.client.get("/followups", headers=province)
    assert len(r.json()) == 2
    other_province = bearer(("provincial_wg", "02"))
    assert (await notify.client.get("/followups", headers=other_province)).json() == []
    r = await notify.client.get("/deliveries", params={"state": "nonsense"}, headers=province)
    assert r.status_code == 422 and "state" in r.text
    assert (
        await notify.client.get("/followups", headers=bearer(("checkpoint_officer", "KH-TH-01")))
    ).status_code == 403


async def test_replaying_a_dispatch_queues_one_alert(notify) -> None:
    village, commune = villages()
    await notify.contact(commune.code, phone_number=phone())
    person = registered(village.code)
    manifest = dispatched(person)
    await notify.publish(person)
    await notify.publish(manifest, event_id="11111111-1111-4111-8111-111111111111")
    await notify.publish(manifest, event_id="11111111-1111-4111-8111-111111111111")  # redelivered
    await notify.publish(manifest)  # re-published under a new event id
    assert len(await notify.deliveries(returnee_id=person.returnee_id, channel="sms")) == 1


async def test_a_visit_reply_is_recorded_and_wrong_senders_change_nothing(notify) -> None:
    chief = phone()
    person, _, _ = await _dispatch_one(notify, chief_phone=chief)
    followup = await notify.followup(person.returnee_id)
    code = followup.code

    r = await notify.inbound(phone(), f"VISIT {code}")  # not the chief of that commune
    assert r.status_code == 200
    assert (await notify.followup(person.returnee_id)).visited_at is None
    unknown = "00000000" if code != "00000000" else "11111111"
    r = await notify.inbound(chief, f"VISIT {unknown}")
    assert (await notify.followup(person.returnee_id)).visited_at is None
    errors = [d for d in await notify.deliveries(reason="reply") if d.body == ERROR_REPLY]
    assert [e.to_phone for e in errors] == [chief]  # a contact is told; a number we do not know is not

    wrong = await notify.client.get(
        "/kannel/inbound", params={"secret": "guess", "from": chief, "text": f"VISIT {code}", "id": "x"}
    )
    assert wrong.status_code == 403
    assert (await notify.followup(person.returnee_id)).visited_at is None

    r = await notify.inbound("+" + chief, f"visit {code}", message_id="mo-1")
    assert r.status_code == 200
    await notify.inbound(chief, f"VISIT {code}", message_id="mo-1")  # smsbox retried
    visited = await notify.followup(person.returnee_id)
    assert visited.visited_at is not None
    events = await notify.stack.events(FOLLOWUP, expect=1)
    visits = [e for _, e in events if isinstance(e, VisitRecorded)]
    assert [v.returnee_id for v in visits] == [person.returnee_id]
    acks = [d for d in await notify.deliveries(reason="reply") if code in (d.body or "")]
    assert len(acks) == 1 and acks[0].to_phone == chief


async def test_checkins_from_sms_become_events_for_home_isolation(notify) -> None:
    chief = phone()
    person, _, _ = await _dispatch_one(notify, chief_phone=chief, policy="home")
    code = (await notify.followup(person.returnee_id)).code
    await notify.inbound(chief, f"សុខ {code}")
    await notify.inbound(chief, f"SICK {code}")
    events = await notify.stack.events(FOLLOWUP, expect=2)
    checkins = [e for _, e in events if isinstance(e, SelfIsolationCheckin)]
    assert [c.symptoms for c in checkins] == [[], ["reported_by_commune"]]


async def test_symptoms_are_alerted_to_the_chief(notify) -> None:
    person, _, _ = await _dispatch_one(notify, chief_phone=phone())
    symptoms = SymptomsReported(
        returnee_id=person.returnee_id,
        episode_id=person.returnee_id,
        home_village_code=person.home_village_code,
        symptoms=["fever"],
        temperature_c=38.4,
        reported_at=datetime.now(UTC),
    )
    await notify.publish(symptoms, symptoms)
    assert len(await notify.deliveries(returnee_id=person.returnee_id, reason="symptoms")) == 1


async def test_an_unvisited_returnee_escalates_and_fourteen_clear_days_complete(notify) -> None:
    chief = phone()
    village, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    await notify.contact(commune.code[:4], phone_number=phone())  # the district's contact
    person = registered(village.code)
    manifest = dispatched(person)
    await notify.publish(person, manifest, handed_over(manifest, person, notify.rt.clock.now()))
    rt, settings = notify.rt, notify.rt.settings
    assert await rt.deps.run(handlers.scan_followups) == (0, 0)

    rt.clock.advance(timedelta(hours=settings.visit_due_hours + 1))
    assert await rt.deps.run(handlers.scan_followups) == (1, 0)
    assert await rt.deps.run(handlers.scan_followups) == (0, 0)
    [alert] = await notify.deliveries(reason="overdue", channel="sms")
    assert alert.recipient_area == commune.code[:4]
    assert (await notify.followup(person.returnee_id)).state == "overdue"

    code = (await notify.followup(person.returnee_id)).code
    await notify.inbound(chief, f"VISIT {code}")
    rt.clock.advance(timedelta(days=settings.followup_days))
    assert await rt.deps.run(handlers.scan_followups) == (0, 1)
    events = [e for _, e in await notify.stack.events(FOLLOWUP, expect=3)]
    assert [type(e) for e in events if type(e).__name__ != "AlertSent"] == [
        FollowupOverdue,
        VisitRecorded,
        FollowupCompleted,
    ]
    r = await notify.client.get(
        f"/followups/{person.returnee_id}", headers=bearer(("commune_chief", commune.code))
    )
    assert r.json()["state"] == "completed"


async def test_an_sms_caught_mid_send_by_a_crash_is_settled_by_its_report_or_sent_again(stack) -> None:
    # No worker here: the test plays the crashed process and then the restarted one.
    notify = await start_notify(stack, delivery_poll_seconds=3600)
    await notify.stop_worker()
    worker, secret = notify.worker, notify.rt.settings.kannel_inbound_secret
    lease = timedelta(seconds=notify.rt.settings.delivery_lease_seconds + 1)
    went, _, _ = await _dispatch_one(notify, chief_phone=phone())
    village, commune = villages(1)
    await notify.contact(commune.code, phone_number=phone())
    lost = registered(village.code)
    await notify.publish(lost, dispatched(lost))
    jobs = []

    async def both_claimed() -> bool:
        jobs.extend(await worker.claim())
        return len(jobs) == 2

    await wait_until(both_claimed, what="both alerts claimed")
    assert {j.channel for j in jobs} == {"sms"}
    rows = {r.returnee_id: r for r in await notify.deliveries()}
    assert {r.state for r in rows.values()} == {"sending"} and all(r.body for r in rows.values())
    # ...the process dies here. Kannel had taken the first SMS: smsbox brings its SMSC acknowledgement.
    [first] = [j for j in jobs if j.id == rows[went.returnee_id].id]
    params = {"secret": secret, "id": str(first.id), "status": 8}
    assert (await notify.client.get("/kannel/dlr", params=params)).status_code == 200

    # Past the lease, while Kannel still holds messages, nothing is sent again.
    notify.rt.clock.advance(lease)
    await worker.recover(kannel_idle=False)
    assert {r.returnee_id: r.state for r in await notify.deliveries()} == {
        went.returnee_id: "sent",
        lost.returnee_id: "sending",
    }
    # Kannel idle and still no report for the second: it never reached the gateway, so it goes again, once.
    await worker.recover(kannel_idle=True)
    [again] = await worker.claim()
    assert again.id == rows[lost.returnee_id].id and await worker.claim() == []
    await worker.record({again.id: Result(Outcome.accepted)})
    final = {r.returnee_id: r for r in await notify.deliveries()}
    assert {k: r.state for k, r in final.items()} == {went.returnee_id: "sent", lost.returnee_id: "sent"}
    assert final[lost.returnee_id].attempts == 2
    alerts = [e for _, e in await notify.stack.events(FOLLOWUP, expect=2)]
    assert sorted(str(e.returnee_id) for e in alerts) == sorted(
        [str(went.returnee_id), str(lost.returnee_id)]
    )


async def test_kannel_callbacks_need_the_secret(notify) -> None:
    r = await notify.client.get(
        "/kannel/dlr", params={"secret": "nope", "id": str(uuid.uuid4()), "status": 1}
    )
    assert r.status_code == 403
    r = await notify.client.get("/kannel/inbound", params={"from": "85512", "text": "OK 123456"})
    assert r.status_code == 403
    secret = notify.rt.settings.kannel_inbound_secret
    r = await notify.client.get("/kannel/dlr", params={"secret": secret, "id": "not-a-uuid", "status": 1})
    assert r.status_code == 422 and "id" in r.text


async def test_a_contact_gets_at_most_three_error_answers_a_day(notify) -> None:
    chief = phone()
    _, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    for i in range(5):
        assert (await notify.inbound(chief, f"hello {i}")).status_code == 200
    answers = [d for d in await notify.deliveries(reason="reply") if d.to_phone == chief]
    assert len(answers) == 3
    notify.rt.clock.advance(timedelta(days=1, minutes=1))
    await notify.inbound(chief, "hello again")
    assert len([d for d in await notify.deliveries(reason="reply") if d.to_phone == chief]) == 4


async def test_delivery_reports_in_any_order_end_in_one_final_state(stack) -> None:
    notify = await start_notify(stack, delivery_poll_seconds=3600)  # the test drives the worker
    await notify.stop_worker()
    worker = notify.worker
    first, _, _ = await _dispatch_one(notify, chief_phone=phone())
    # The first events of a fresh consumer group: under a full suite on 2 cores the join alone can take 20 s.
    [job] = await wait_until(worker.claim, timeout=60, what="the alert claimed")
    secret = notify.rt.settings.kannel_inbound_secret

    async def report(delivery_id, status: int) -> int:
        params = {"secret": secret, "id": str(delivery_id), "status": status}
        return (await notify.client.get("/kannel/dlr", params=params)).status_code

    # Kannel's report can beat our own record of its acceptance: it still counts, and the event still goes.
    assert await report(job.id, 1) == 200
    assert await report(job.id, 8) == 200  # "accepted by the SMSC", late: changes nothing
    await worker.record({job.id: Result(Outcome.accepted)})
    [row] = await notify.deliveries(id=job.id)
    assert (row.state, row.dlr_status) == ("delivered", 1) and row.sent_at
    events = [e for _, e in await notify.stack.events(FOLLOWUP, expect=1)]
    assert [type(e).__name__ for e in events] == ["AlertSent"]

    village, commune = villages(1)
    await notify.contact(commune.code, phone_number=phone())
    second = registered(village.code)
    await notify.publish(second, dispatched(second))
    [job2] = await wait_until(worker.claim, timeout=60, what="the second alert claimed")
    await worker.record({job2.id: Result(Outcome.accepted)})
    assert await report(job2.id, 16) == 200  # rejected by the SMS centre
    assert await report(job2.id, 1) == 200  # too late to undo a failure
    [row] = await notify.deliveries(id=job2.id)
    assert (row.state, row.dlr_status) == ("failed", 16)
    assert await report(first.returnee_id, 1) == 404  # not one of our deliveries


async def test_a_failed_delivery_is_queued_again_only_on_request_in_scope(notify) -> None:
    gone = Receiver(410, 200)
    async with serving(gone.app, gone.port):
        person, _, _ = await _dispatch_one(notify, chief_phone=phone(), webhook_url=gone.url)
        [row] = await notify.wait_state("failed", returnee_id=person.returnee_id, channel="webhook")
        other_wg = bearer(("provincial_wg", "02"))
        assert (await notify.client.post(f"/deliveries/{row.id}/retry", headers=other_wg)).status_code == 404
        chief = bearer(("commune_chief", row.commune_code))
        assert (await notify.client.post(f"/deliveries/{row.id}/retry", headers=chief)).status_code == 403
        # The endpoint is disabled after its 410: a new URL for the contact enables it again.
        await notify.contact(row.recipient_area, phone_number=phone(), webhook_url=gone.url + "?v=2")
        wg = bearer(("provincial_wg", "01"))
        r = await notify.client.post(f"/deliveries/{row.id}/retry", headers=wg)
        assert r.status_code == 200 and r.json()["state"] == "queued"
        await notify.wait_state("delivered", returnee_id=person.returnee_id, channel="webhook")
        r = await notify.client.post(f"/deliveries/{row.id}/retry", headers=wg)
        assert r.status_code == 409 and "state" in r.text


async def _store_returnee_unreleased(rt, person) -> None:
    """The returnee's row as remember_returnee stores it, without its release of waiting alerts: what a
    registration committed at the same moment as its alert leaves behind."""
    async with rt.sessions.begin() as session:
        session.add(
            Returnee(
                id=person.returnee_id,
                name_km=person.name_km,
                name_latin=person.name_latin,
                sex=person.sex.value,
                age_years=person.age_years,
                village_code=person.home_village_code,
                policy=person.policy.value,
            )
        )


async def test_an_alert_its_registration_missed_goes_out_within_seconds_without_the_scanner(notify) -> None:
    # Regression (fresh-clone CI, 2026-12-07): the registration and the alert of one returnee committed at
    # once, each blind to the other's row; the alert waited for the hourly scanner and its SMS never went.
    village, commune = villages()
    await notify.contact(commune.code, phone_number=phone())
    person = registered(village.code)
    await notify.publish(dispatched(person))
    [row] = await notify.deliveries(returnee_id=person.returnee_id)
    assert row.state == "waiting"
    await _store_returnee_unreleased(notify.rt, person)

    async def claimed():
        [row] = await notify.deliveries(returnee_id=person.returnee_id)
        return row.attempts > 0

    await wait_until(claimed, timeout=5, what="the missed alert taken by the worker")


async def test_an_alert_whose_registration_never_comes_fails_after_the_wait(notify) -> None:
    village, commune = villages()
    await notify.contact(commune.code, phone_number=phone())
    never, unseen = registered(village.code), registered(village.code)
    await notify.publish(dispatched(never, unseen))  # no registration: both alerts wait for theirs
    rows = {r.returnee_id: r for r in await notify.deliveries(channel="sms")}
    assert {r.state for r in rows.values()} == {"waiting"} and len(rows) == 2
    r = await notify.client.get("/deliveries", params={"state": "waiting"}, headers=ADMIN)
    assert {d["id"] for d in r.json()} == {str(row.id) for row in rows.values()}
    metrics = (await notify.client.get("/metrics")).text
    assert 'border_notify_deliveries{channel="sms",state="waiting"} 2.0' in metrics
    rt = notify.rt
    assert await rt.deps.run(handlers.expire_waiting) == 0  # not yet

    # `unseen`'s registration committed at the same moment as its alert, each transaction blind to the other:
    # the next scanner round queues that alert rather than failing it.
    await _store_returnee_unreleased(rt, unseen)
    rt.clock.advance(handlers.WAIT_FOR_RETURNEE * rt.clock.speed + timedelta(minutes=1))
    assert await rt.deps.run(handlers.expire_waiting) == 1
    [failed] = await notify.deliveries(returnee_id=never.returnee_id)
    assert (failed.state, failed.last_error, failed.attempts) == (
        "failed",
        "returnee never registered here",
        0,
    )

    async def claimed():
        [row] = await notify.deliveries(returnee_id=unseen.returnee_id)
        return row.attempts > 0  # the worker took it: an expired alert is failed unclaimed

    await wait_until(claimed, what="the alert of the unseen registration claimed")

    await notify.publish(never)  # too late: a failed alert stays failed, until a person retries it
    assert [(r.state, r.attempts) for r in await notify.deliveries(returnee_id=never.returnee_id)] == [
        ("failed", 0)
    ]


async def test_a_reply_code_already_taken_is_drawn_again(notify, monkeypatch) -> None:
    draws = iter(["111111", "111111", "222222"])
    monkeypatch.setattr(handlers, "new_code", lambda: next(draws))
    village, _ = villages()
    first, second = uuid.uuid4(), uuid.uuid4()
    rt = notify.rt
    await rt.deps.run(handlers._open_followup, returnee_id=first, village_code=village.code)
    await rt.deps.run(handlers._open_followup, returnee_id=second, village_code=village.code)
    assert (await notify.followup(first)).code == "111111"
    assert (await notify.followup(second)).code == "222222"  # the clash cost a savepoint, not the batch
