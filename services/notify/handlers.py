"""Use cases of the notify service; each runs in the caller's transaction or opens exactly one."""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.domain import (
    Command,
    level_of,
    new_code,
    new_webhook_secret,
    normalize_phone,
    parse_reply,
    render_reply,
)
from services.notify.models import Contact, ContactIn, Delivery, Followup, Reply, Returnee
from shared.events.intake import ReturneeRegistered
from shared.events.notify import SelfIsolationCheckin, VisitRecorded
from shared.gazetteer import commune_of
from shared.outbox import enqueue

log = logging.getLogger(__name__)


# --- contacts ------------------------------------------------------------------------------------------


async def save_contact(
    session: AsyncSession, *, area_code: str, data: ContactIn, now: datetime
) -> tuple[Contact, str | None]:
    """Create or replace an area's contact; returns it and its webhook secret when one was just made."""
    contact = await session.get(Contact, area_code) or Contact(area_code=area_code)
    contact.level = level_of(area_code).value
    contact.province_code = area_code[:2]
    contact.name, contact.phone, contact.language = data.name, data.phone, data.language
    secret = None
    if data.webhook_url != contact.webhook_url or (data.webhook_url and not contact.webhook_secret):
        # A new endpoint gets a new secret and a fresh start after a 410.
        contact.webhook_url = data.webhook_url
        contact.webhook_secret = secret = new_webhook_secret() if data.webhook_url else None
        contact.webhook_disabled = False
    contact.updated_at = now
    session.add(contact)
    return contact, secret


# --- what the other contexts tell us -------------------------------------------------------------------


async def remember_returnee(
    session: AsyncSession, *, event: ReturneeRegistered, correlation_id: str | None = None
) -> None:
    """Keep only what an alert needs; a correction overwrites it."""
    returnee = await session.get(Returnee, event.returnee_id) or Returnee(id=event.returnee_id)
    returnee.correlation_id = correlation_id or returnee.correlation_id
    returnee.name_km = event.name_km
    returnee.name_latin = event.name_latin
    returnee.sex = event.sex.value
    returnee.age_years = event.age_years
    returnee.village_code = event.home_village_code
    returnee.phone = event.phone
    returnee.policy = event.policy.value
    session.add(returnee)
    followup = await session.get(Followup, event.returnee_id)
    if followup is None:
        return  # the usual order: nothing was dispatched yet, nothing waits for us
    if returnee.policy == "home":
        followup.home_isolation = True
    # The dispatch got here first, so its alert waits 2 s at a time for this registration (the worker's
    # `NotReady`): make it due now, so it leaves with the worker's next poll. attempts == 0 keeps gateway
    # retries on their backoff.
    await session.execute(
        update(Delivery)
        .where(Delivery.returnee_id == event.returnee_id, Delivery.state == "queued", Delivery.attempts == 0)
        .values(next_attempt_at=Delivery.created_at)
        .execution_options(synchronize_session=False)
    )


async def open_followup(
    session: AsyncSession, *, returnee_id: UUID, village_code: str, now: datetime
) -> Followup:
    """The returnee's follow-up, created with a fresh reply code the first time."""
    followup = await session.get(Followup, returnee_id)
    if followup:
        return followup
    code = new_code()
    while await session.scalar(select(Followup.returnee_id).where(Followup.code == code)):
        code = new_code()
    returnee = await session.get(Returnee, returnee_id)
    followup = Followup(
        returnee_id=returnee_id,
        code=code,
        commune_code=commune_of(village_code),
        village_code=village_code,
        home_isolation=bool(returnee and returnee.policy == "home"),
        created_at=now,
    )
    try:
        # Two consumers (transfers, episodes) may open the same follow-up at once after a backlog: the
        # loser takes the winner's row instead of failing its whole batch (and at last dead-lettering it).
        async with session.begin_nested():
            session.add(followup)
    except IntegrityError:
        existing = await session.get(Followup, returnee_id, populate_existing=True)
        if existing is None:
            raise  # a clash of reply codes: the consumer's retry draws another
        return existing
    return followup


async def queue_alert(
    session: AsyncSession,
    *,
    reason: str,
    returnee_id: UUID,
    commune_code: str,
    recipient_area: str,
    key: str,
    now: datetime,
    context: dict | None = None,
) -> int:
    """Queue the alert to the area's contact by SMS, and by webhook if it has one; returns rows added."""
    contact = await session.get(Contact, recipient_area)
    if contact is None:
        log.warning("no contact for area, alert not queued", extra={"area": recipient_area, "reason": reason})
        return 0
    channels = ["sms"]
    if contact.webhook_url and not contact.webhook_disabled:
        channels.append("webhook")
    added = 0
    for channel in channels:
        dedupe_key = f"{reason}:{returnee_id}:{key}:{recipient_area}:{channel}"
        if await session.scalar(select(Delivery.id).where(Delivery.dedupe_key == dedupe_key)):
            continue  # the same event again: one alert is enough
        session.add(
            Delivery(
                dedupe_key=dedupe_key,
                returnee_id=returnee_id,
                commune_code=commune_code,
                recipient_area=recipient_area,
                reason=reason,
                channel=channel,
                context=context or {},
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    return added


async def alert_dispatched(
    session: AsyncSession,
    *,
    returnee_id: UUID,
    village_code: str,
    manifest_id: UUID,
    expected_arrival: datetime,
    now: datetime,
) -> None:
    followup = await open_followup(session, returnee_id=returnee_id, village_code=village_code, now=now)
    followup.expected_arrival = expected_arrival
    await queue_alert(
        session,
        reason="dispatched",
        returnee_id=returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=str(manifest_id),
        now=now,
        context={"when": expected_arrival.isoformat()},
    )


async def alert_handed_over(
    session: AsyncSession,
    *,
    returnee_id: UUID,
    village_code: str,
    manifest_id: UUID,
    handed_over_at: datetime,
    visit_due: timedelta,
    now: datetime,
) -> None:
    """Alert again and start the clock of the home visit."""
    followup = await open_followup(session, returnee_id=returnee_id, village_code=village_code, now=now)
    if followup.handed_over_at is None:
        followup.handed_over_at = handed_over_at
        followup.due_at = handed_over_at + visit_due
        followup.clear_since = followup.clear_since or handed_over_at
        if followup.state == "expected":
            followup.state = "open"
    await queue_alert(
        session,
        reason="handed_over",
        returnee_id=returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=str(manifest_id),
        now=now,
        context={"when": handed_over_at.isoformat()},
    )


async def alert_symptoms(
    session: AsyncSession, *, returnee_id: UUID, village_code: str, reported_at: datetime, now: datetime
) -> None:
    """Symptoms restart the count of clear days and tell the chief."""
    followup = await open_followup(session, returnee_id=returnee_id, village_code=village_code, now=now)
    if followup.state != "completed":
        followup.clear_since = max(followup.clear_since or reported_at, reported_at)
    await queue_alert(
        session,
        reason="symptoms",
        returnee_id=returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=reported_at.isoformat(),
        now=now,
    )


async def mark_home_isolation(
    session: AsyncSession, *, returnee_id: UUID, village_code: str, now: datetime
) -> None:
    followup = await open_followup(session, returnee_id=returnee_id, village_code=village_code, now=now)
    followup.home_isolation = True


# --- replies from commune chiefs -----------------------------------------------------------------------


def _reply(session: AsyncSession, *, to: str, text: str, message_id: str, commune: str, now: datetime):
    session.add(
        Delivery(
            dedupe_key=f"reply:{message_id}",
            commune_code=commune,
            recipient_area=commune,
            reason="reply",
            channel="sms",
            to_phone=to,
            body=text,
            next_attempt_at=now,
            created_at=now,
        )
    )


async def _apply(
    session: AsyncSession, *, command: Command, followup: Followup, now: datetime, source: str
) -> None:
    ids = {"returnee_id": followup.returnee_id, "commune_code": followup.commune_code}
    if command is Command.visit:
        if followup.visited_at is None:
            followup.visited_at = now
            if followup.state == "overdue":
                followup.state = "open"
            await enqueue(session, VisitRecorded(**ids, visited_at=now), source=source)
        return
    followup.last_checkin_at = now
    if command is Command.sick:
        followup.clear_since = now
        await enqueue(
            session,
            SelfIsolationCheckin(**ids, symptoms=["reported_by_commune"], reported_at=now),
            source=source,
        )
    elif followup.home_isolation or await _registered_for_home(session, followup.returnee_id):
        await enqueue(session, SelfIsolationCheckin(**ids, reported_at=now), source=source)


async def _registered_for_home(session: AsyncSession, returnee_id: UUID) -> bool:
    # The registration and the dispatch come on different topics, so the follow-up may predate it.
    returnee = await session.get(Returnee, returnee_id)
    return bool(returnee and returnee.policy == "home")


ERROR_OUTCOMES = {"unparsed", "unknown_code", "wrong_sender"}
# Error answers per number and day: anyone can text us, and each answer is an SMS we pay for.
MAX_ERROR_REPLIES = 3


async def _may_answer_error(session: AsyncSession, phone: str, now: datetime) -> bool:
    recent = await session.scalar(
        select(func.count())
        .select_from(Reply)
        .where(
            Reply.sender == phone,
            Reply.outcome.in_(ERROR_OUTCOMES),
            Reply.received_at > now - timedelta(days=1),
        )
    )
    return recent < MAX_ERROR_REPLIES


async def handle_reply(
    sessions: async_sessionmaker[AsyncSession],
    *,
    sender: str,
    text: str,
    message_id: str,
    now: datetime,
    source: str,
    error_text: str,
) -> str:
    """Record a chief's SMS reply and answer it; returns the outcome (nothing changes on an error)."""
    try:
        phone = normalize_phone(sender)
    except ValueError:
        return "bad_sender"
    async with sessions.begin() as session:
        if await session.scalar(select(Reply.id).where(Reply.message_id == message_id)):
            return "duplicate"  # smsbox retried a request we had already taken
        parsed = parse_reply(text)
        followup = contact = None
        if parsed:
            followup = await session.scalar(select(Followup).where(Followup.code == parsed[1]))
        if followup:
            contact = await session.get(Contact, followup.commune_code)
        if parsed is None:
            outcome = "unparsed"
        elif followup is None:
            outcome = "unknown_code"
        elif contact is None or normalize_phone(contact.phone) != phone:
            outcome = "wrong_sender"
        else:
            outcome = parsed[0].value
        commune = followup.commune_code if followup and outcome not in ERROR_OUTCOMES else ""
        if outcome in ERROR_OUTCOMES:
            answer = error_text if await _may_answer_error(session, phone, now) else None
        else:
            await _apply(session, command=parsed[0], followup=followup, now=now, source=source)
            answer = render_reply(parsed[0], contact.language, parsed[1])
        if answer:
            _reply(session, to=phone, text=answer, message_id=message_id, commune=commune, now=now)
        session.add(
            Reply(
                message_id=message_id,
                sender=phone,
                returnee_id=followup.returnee_id if commune else None,
                command=parsed[0].value if parsed else None,
                outcome=outcome,
                received_at=now,
            )
        )
        try:
            await session.flush()
        except IntegrityError:
            return "duplicate"  # the same message raced in twice
    return outcome
