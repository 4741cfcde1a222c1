"""The delivery worker: sends queued alerts by SMS and webhook, and settles what a crash left behind.

A delivery is claimed (queued -> sending) and committed before anything goes out, and the gateway's answer
is recorded afterwards. A crash in between leaves the row in `sending`. A webhook is then queued again
(receivers dedupe on `webhook-id`). An SMS is settled by Kannel's delivery reports: every SMS asks for the
SMSC's acknowledgement, which smsbox keeps retrying to us for longer than a sender's lease, so one that went
out is marked sent by its report; one with no report once the lease is over, while Kannel holds nothing in
its queues, never reached the gateway and is sent again. Kannel away, the row waits.
"""

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from uuid import UUID

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import AlertFacts, backoff, normalize_phone, render_alert
from services.notify.gateways import Kannel, Outcome, Result, Webhooks
from services.notify.handlers import WAKE_WORKER, Uow, release_missed, went_out
from services.notify.models import Contact, Delivery, Followup, Returnee
from services.notify.settings import Settings
from shared.geo.gazetteer import load_gazetteer
from shared.liveness import progressed
from shared.logging import correlation_id_var
from shared.unit_of_work import Deps

log = logging.getLogger(__name__)

CHANNELS = ("sms", "webhook")
RECOVERY_INTERVAL = 10.0  # seconds between looks for rows a dead process left in `sending`
RELEASE_INTERVAL = 1.0  # seconds between looks for alerts a registration missed (handlers.release_missed)


async def _facts(session: AsyncSession, delivery: Delivery, language: str) -> AlertFacts:
    returnee = await session.get(Returnee, delivery.returnee_id)
    followup = await session.get(Followup, delivery.returnee_id)
    if returnee is None or followup is None:
        # Only a retried alert whose registration never came (handlers.expire_waiting) gets here.
        raise LookupError("returnee never registered here")
    gaz = load_gazetteer()
    village = gaz.village(returnee.village_code)
    commune = gaz.commune(followup.commune_code)
    km = language == "km"
    when = delivery.context.get("when")
    if delivery.reason == "overdue":
        when = followup.due_at.isoformat() if followup.due_at else None
    return AlertFacts(
        name=returnee.name_km if km else returnee.name_latin,
        sex=returnee.sex,
        age=returnee.age_years,
        village=(village.name_km if km else village.name_en) if village else returnee.village_code,
        code=followup.code,
        when=datetime.fromisoformat(when) if when else None,
        commune=(commune.name_km if km else commune.name_en) if commune else followup.commune_code,
    )


def _payload(delivery: Delivery, facts: AlertFacts, returnee: Returnee, now: datetime) -> dict:
    return {
        "type": f"followup.{delivery.reason}",
        "timestamp": now.isoformat(),
        "data": {
            "delivery_id": str(delivery.id),
            "returnee_id": str(delivery.returnee_id),
            "commune_code": delivery.commune_code,
            "followup_code": facts.code,
            "name_km": returnee.name_km,
            "name_latin": returnee.name_latin,
            "sex": returnee.sex,
            "age_years": returnee.age_years,
            "village_code": returnee.village_code,
            "when": facts.when.isoformat() if facts.when else None,
        },
    }


class NoContact(LookupError):
    """The area's contact was removed after the alert was queued."""


class Job:
    """A claimed delivery with everything needed to send it outside the transaction."""

    def __init__(self, delivery: Delivery, *, to: str | None = None, url=None, secret=None, payload=None):
        self.id: UUID = delivery.id
        self.channel = delivery.channel
        self.body = delivery.body
        self.to = to
        self.url = url
        self.secret = secret
        self.payload = payload
        self.correlation_id: str | None = None  # the registration's, so the send is logged under it


async def _prepare(session: AsyncSession, delivery: Delivery, now: datetime) -> Job:
    """Write the message (the returnee may only now be known) and find where it goes."""
    if delivery.reason == "reply":
        return Job(delivery, to=delivery.to_phone)
    contact = await session.get(Contact, delivery.recipient_area)
    if contact is None:
        raise NoContact("contact removed")
    facts = await _facts(session, delivery, contact.language)
    returnee = await session.get(Returnee, delivery.returnee_id)
    if delivery.channel == "sms":
        delivery.body = render_alert(delivery.reason, contact.language, facts)
        job = Job(delivery, to=normalize_phone(contact.phone))
    elif not contact.webhook_url or contact.webhook_disabled or not contact.webhook_secret:
        raise LookupError("webhook disabled")
    else:
        payload = _payload(delivery, facts, returnee, now)
        job = Job(delivery, url=contact.webhook_url, secret=contact.webhook_secret, payload=payload)
    job.correlation_id = returnee.correlation_id
    return job


async def _preload(session: AsyncSession, rows: list[Delivery]) -> None:
    """Load a batch's contacts, returnees and follow-ups in three queries; `session.get` then finds them."""
    areas = {d.recipient_area for d in rows}
    returnees = {d.returnee_id for d in rows if d.returnee_id}
    await session.scalars(select(Contact).where(Contact.area_code.in_(areas)))
    if returnees:
        await session.scalars(select(Returnee).where(Returnee.id.in_(returnees)))
        await session.scalars(select(Followup).where(Followup.returnee_id.in_(returnees)))


class DeliveryWorker:
    """Two lanes, SMS and webhooks, each claiming and sending its own channel: a receiver that is slow (up
    to its deadline) holds back other webhooks at most, never an SMS."""

    def __init__(self, deps: Deps[Settings]):
        self.deps = deps
        self.settings = deps.settings
        self.clock = deps.clock
        self.wakes = {channel: asyncio.Event() for channel in CHANNELS}
        deps.sessions.kw.setdefault("info", {})[WAKE_WORKER] = self.wake

    def wake(self) -> None:
        for event in self.wakes.values():
            event.set()

    def _real(self, delta: timedelta) -> timedelta:
        """A wait meant in real time (leases, retries), as a span of the clock, which may run faster."""
        return delta * self.clock.speed

    async def run(self) -> None:
        """Send due deliveries and settle what a crash left behind, until cancelled."""
        async with httpx.AsyncClient(timeout=10) as client, asyncio.TaskGroup() as lanes:
            kannel, webhooks = Kannel(self.settings, client), Webhooks(self.settings, client)
            for channel in CHANNELS:
                lanes.create_task(self._lane(channel, kannel, webhooks))

    async def _lane(self, channel: str, kannel: Kannel, webhooks: Webhooks) -> None:
        wake, loop = self.wakes[channel], asyncio.get_running_loop()
        # Not at once: the reports smsbox could not give us while we were down come first.
        next_recovery = loop.time() + RECOVERY_INTERVAL
        next_release = loop.time()
        while True:
            if channel == "sms" and (tick := loop.time()) >= next_recovery:
                await self.recover(kannel_idle=await kannel.idle())  # both channels' rows
                next_recovery = tick + RECOVERY_INTERVAL
            if channel == "sms" and (tick := loop.time()) >= next_release:
                await self.deps.run(release_missed)  # both channels' rows
                next_release = tick + RELEASE_INTERVAL
            # Cleared before the claim: a wake-up from a commit during this round starts the next at once.
            wake.clear()
            jobs = await self.claim(channel)
            progressed()  # a round done; each send reports too (send_all)
            if jobs:
                await self.send_all(jobs, kannel, webhooks)
                continue
            with contextlib.suppress(TimeoutError):  # not wait_for: it can swallow a cancellation
                async with asyncio.timeout(self.settings.delivery_poll_seconds):
                    await wake.wait()

    async def waiting(self) -> int:
        """Deliveries due now (the watchdog's probe)."""
        async with self.deps.sessions() as session:
            due = select(func.count()).where(
                Delivery.state == "queued", Delivery.next_attempt_at <= self.clock.now()
            )
            return (await session.execute(due)).scalar_one()

    async def recover(self, *, kannel_idle: bool) -> None:
        """Rows a dead process (or a lost answer) left in `sending` past their lease: send them again,
        webhooks always, SMS only when no report says it went out and Kannel holds nothing that could."""
        now = self.clock.now()
        stale = now - self._real(timedelta(seconds=self.settings.delivery_lease_seconds))
        async with self.deps.sessions.begin() as session:
            sending = (Delivery.state == "sending", Delivery.claimed_at < stale)
            await session.execute(
                update(Delivery)
                .where(*sending, Delivery.channel == "webhook")
                .values(state="queued", next_attempt_at=now)
            )
            if kannel_idle:
                await session.execute(
                    update(Delivery)
                    .where(*sending, Delivery.channel == "sms", Delivery.dlr_status.is_(None))
                    .values(state="queued", next_attempt_at=now, last_error="never reached the gateway")
                )

    async def claim(self, channel: str | None = None) -> list[Job]:
        """Move due rows (of one channel, or all) to `sending` and commit that before anything is sent."""
        now = self.clock.now()
        jobs = []
        due = [Delivery.state == "queued", Delivery.next_attempt_at <= now]
        if channel:
            due.append(Delivery.channel == channel)
        async with self.deps.sessions.begin() as session:
            rows = (
                await session.scalars(
                    select(Delivery)
                    .where(*due)
                    .order_by(Delivery.next_attempt_at)
                    .limit(self.settings.delivery_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            await _preload(session, rows)
            for delivery in rows:
                try:
                    job = await _prepare(session, delivery, now)
                except NoContact:
                    delivery.state = "no_contact"  # held again, until a contact is saved (release_held)
                    continue
                except (LookupError, ValueError) as exc:
                    delivery.state, delivery.last_error = "failed", str(exc)[:200]
                    continue
                delivery.state, delivery.claimed_at = "sending", now
                delivery.attempts += 1
                delivery.sent_to = job.to
                jobs.append(job)
        return jobs

    async def send_all(self, jobs: list[Job], kannel: Kannel, webhooks: Webhooks) -> None:
        limit = asyncio.Semaphore(self.settings.delivery_concurrency)

        async def one(job: Job) -> Result:
            # gather runs each send in a task of its own, so this id stays with this send's log lines.
            correlation_id_var.set(job.correlation_id)
            async with limit:
                if job.channel == "sms":
                    result = await kannel.send(to=job.to, text=job.body, delivery_id=job.id)
                else:
                    result = await webhooks.send(
                        url=job.url, secret=job.secret, message_id=job.id, payload=job.payload
                    )
            progressed()  # per send: a slow gateway is slow, not stuck
            log.info(
                "alert handed to gateway",
                extra={"delivery_id": str(job.id), "channel": job.channel, "outcome": result.outcome.value},
            )
            return result

        results = await asyncio.gather(*(one(job) for job in jobs))
        correlations = {job.id: job.correlation_id for job in jobs}
        await self.record({job.id: result for job, result in zip(jobs, results, strict=True)}, correlations)

    async def record(
        self, results: dict[UUID, Result], correlations: dict[UUID, str | None] | None = None
    ) -> None:
        """Write down what the gateways said, in one transaction with the AlertSent events."""
        correlations = correlations or {}
        async with self.deps.sessions.begin() as session:
            uow = self.deps.unit(session)
            rows = await session.scalars(
                select(Delivery).where(Delivery.id.in_(results)).order_by(Delivery.id).with_for_update()
            )
            for delivery in rows.all():
                # AlertSent continues the registration's correlation.
                correlation_id_var.set(correlations.get(delivery.id))
                await self._apply(uow, delivery, results[delivery.id])
            correlation_id_var.set(None)

    async def _apply(self, uow: Uow, delivery: Delivery, result: Result) -> None:
        s = self.settings
        if result.outcome is Outcome.accepted:
            await went_out(uow, delivery=delivery)
            return
        delivery.last_error = result.error
        if delivery.state != "sending":
            return  # a delivery report got here first
        if result.outcome is Outcome.unknown and delivery.channel == "sms":
            return  # maybe taken: stays `sending`, for its report or the recovery to settle
        if result.outcome is Outcome.retry and delivery.attempts < s.delivery_max_attempts:
            delivery.state = "queued"
            wait = backoff(
                delivery.attempts, base=s.delivery_backoff_seconds, cap=s.delivery_backoff_max_seconds
            )
            delivery.next_attempt_at = uow.now() + self._real(wait)
            return
        delivery.state = "failed"
        if result.outcome is Outcome.gone:
            contact = await uow.session.get(Contact, delivery.recipient_area)
            if contact:
                contact.webhook_disabled = True
