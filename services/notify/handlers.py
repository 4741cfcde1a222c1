"""Use cases of the notify service: each runs in its unit of work's transaction, its events enqueued in it."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from services.notify.domain import (
    ERROR_REPLY,
    Command,
    is_complete,
    is_overdue,
    level_of,
    new_code,
    new_webhook_secret,
    normalize_phone,
    parse_reply,
    render_reply,
)
from services.notify.gateways import check_webhook_target
from services.notify.models import (
    Contact,
    ContactChange,
    ContactIn,
    ContactOut,
    Delivery,
    DeliveryOut,
    Followup,
    Reply,
    Returnee,
)
from services.notify.settings import Settings
from shared.audit import record_access
from shared.contracts.intake import QuarantinePolicy, ReturneeCorrected, ReturneeRegistered
from shared.contracts.notify import (
    AlertSent,
    FollowupCompleted,
    FollowupOverdue,
    SelfIsolationCheckin,
    VisitRecorded,
)
from shared.contracts.quarantine import QuarantineStarted, SymptomsReported
from shared.contracts.transport import HandedOver, ManifestDispatched
from shared.errors import Conflict, Invalid, NotFound
from shared.geo.gazetteer import commune_of, load_gazetteer
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Principal, Role

log = logging.getLogger(__name__)

Uow = UnitOfWork[Settings]

# How long an alert may wait for its returnee's registration to arrive (topics are not ordered together).
WAIT_FOR_RETURNEE = timedelta(hours=1)
# The delivery worker leaves its wake-up in the info of every session (as the outbox relay does), so an
# alert made due in any transaction goes out on its commit rather than at the worker's next poll.
WAKE_WORKER = "notify_wake_worker"
CODE_DRAWS = 8


# --- contacts ------------------------------------------------------------------------------------------


def contact_out(contact: Contact, secret: str | None = None) -> ContactOut:
    return ContactOut.model_validate(contact, from_attributes=True).model_copy(
        update={"webhook_secret": secret}
    )


def check_area(area_code: str, principal: Principal) -> None:
    """A real place in the caller's province (404 otherwise, as for anything out of scope)."""
    try:
        level_of(area_code)  # the format: 2, 4 or 6 digits
    except ValueError as exc:
        raise Invalid(("path", "area_code"), str(exc)) from exc
    if load_gazetteer().area(area_code) is None:
        raise Invalid(("path", "area_code"), "not in the gazetteer")
    if not principal.is_national and area_code[:2] not in principal.scopes(Role.provincial_wg):
        raise NotFound("contact not found")


async def save_contact(uow: Uow, *, area_code: str, data: ContactIn) -> ContactOut:
    """Create or replace an area's contact; its webhook secret is shown only when one was just made."""
    session = uow.session
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
    contact.updated_at = uow.now()
    session.add(contact)
    await release_held(uow, contact=contact)
    return contact_out(contact, secret)


async def audit(uow: Uow, principal: Principal, action: str, object_type: str, ids: Iterable) -> None:
    """One trail row per record the caller read or changed, in the use case's own transaction."""
    for object_id in ids:
        await record_access(
            uow, principal=principal, action=action, object_type=object_type, object_id=object_id
        )


def _masked(phone: str | None) -> str:
    return f"…{phone[-3:]}" if phone else "-"


# A contact's fields whose change is its own line in the trail: who redirected a commune's SMS, and when.
TRACKED = ("phone", "webhook_url", "language", "name")


async def put_contact(uow: Uow, *, principal: Principal, area_code: str, data: ContactIn) -> ContactOut:
    """Save the contact of a place in the caller's province, its webhook only to a public address."""
    check_area(area_code, principal)
    if data.webhook_url:
        try:
            await check_webhook_target(data.webhook_url, uow.settings)
        except ValueError as exc:
            raise Invalid(("body", "webhook_url"), str(exc)) from exc
    before = await uow.session.get(Contact, area_code)
    old = {f: getattr(before, f) if before else None for f in TRACKED}
    saved = await save_contact(uow, area_code=area_code, data=data)
    changed = [f for f in TRACKED if old[f] != getattr(data, f)]
    actions = ["create"] if before is None else [f"change_{f.removesuffix('_url')}" for f in changed]
    for action in actions:
        await audit(uow, principal, action, "contact", [area_code])
    for f in changed:
        _changed(uow, principal, area_code, f, old[f], getattr(data, f))
    if before is not None and "phone" in changed:
        log.info(
            "contact phone changed",
            extra={
                "area": area_code,
                "by": principal.subject,
                "old": _masked(old["phone"]),
                "new": _masked(data.phone),
            },
        )
    return saved


def _changed(uow: Uow, principal: Principal, area_code: str, field: str, old, new) -> None:
    uow.session.add(
        ContactChange(area_code=area_code, at=uow.now(), by=principal.subject, field=field, old=old, new=new)
    )


async def delete_contact(uow: Uow, *, principal: Principal, area_code: str) -> None:
    check_area(area_code, principal)
    contact = await uow.session.get(Contact, area_code)
    if contact is None:
        raise NotFound("contact not found")
    await uow.session.execute(delete(Contact).where(Contact.area_code == area_code))
    await audit(uow, principal, "delete", "contact", [area_code])
    _changed(uow, principal, area_code, "deleted", contact.phone, None)


async def seed_contacts(uow: Uow, *, contacts: Iterable[tuple[str, ContactIn]]) -> int:
    """Save each contact whose area has none yet (so seeding twice adds nothing); returns how many."""
    have = set((await uow.session.scalars(select(Contact.area_code))).all())
    added = 0
    for area_code, contact in contacts:
        if area_code not in have:
            await save_contact(uow, area_code=area_code, data=contact)
            added += 1
    return added


# --- the join of a returnee's registration and its alerts -----------------------------------------------


def _wake_worker(uow: Uow) -> None:
    if wake := uow.session.info.get(WAKE_WORKER):
        uow.on_commit(wake)


async def release_waiting(uow: Uow, *, returnee_id: UUID) -> int:
    """Queue the returnee's `waiting` alerts, due now: its registration has come after them.

    The registration and the events that alert come on topics not ordered together: an alert made before
    the registration waits (queue_alert), and the registration releases it here. Returns how many it queued.
    """
    result = await uow.session.execute(
        update(Delivery)
        .where(Delivery.returnee_id == returnee_id, Delivery.state == "waiting")
        .values(state="queued", next_attempt_at=uow.now())
    )
    if result.rowcount:
        _wake_worker(uow)
    return result.rowcount


async def release_missed(uow: Uow) -> int:
    """Queue the `waiting` alerts whose registration and follow-up are both here; returns how many.

    A registration and an alert committed at the same moment each missed the other (neither saw the
    other's uncommitted row): the delivery worker calls this about once a second, so such an alert goes
    out a second late instead of never.
    """
    known = select(Returnee.id).where(Returnee.id == Delivery.returnee_id).exists()
    followed = select(Followup.returnee_id).where(Followup.returnee_id == Delivery.returnee_id).exists()
    released = await uow.session.execute(
        update(Delivery)
        .where(Delivery.state == "waiting", known, followed)
        .values(state="queued", next_attempt_at=uow.now())
        .execution_options(synchronize_session=False)
    )
    if released.rowcount:
        _wake_worker(uow)
    return released.rowcount


async def expire_waiting(uow: Uow) -> int:
    """Fail the alerts whose registration has not come within WAIT_FOR_RETURNEE; returns how many."""
    session, now = uow.session, uow.now()
    await release_missed(uow)
    # The limit is meant in real time: the demo clock may run faster.
    expired = await session.execute(
        update(Delivery)
        .where(Delivery.state == "waiting", Delivery.created_at < now - WAIT_FOR_RETURNEE * uow.clock.speed)
        .values(state="failed", last_error="returnee never registered here")
        .execution_options(synchronize_session=False)
    )
    return expired.rowcount


# --- what the other contexts tell us -------------------------------------------------------------------


async def remember_returnee(uow: Uow, *, event: ReturneeRegistered | ReturneeCorrected) -> None:
    """Keep only what an alert needs; a correction overwrites it."""
    session = uow.session
    returnee = await session.get(Returnee, event.returnee_id) or Returnee(id=event.returnee_id)
    # The registration's correlation id: its alerts are logged under it.
    returnee.correlation_id = (uow.envelope and uow.envelope.correlation_id) or returnee.correlation_id
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
    await release_waiting(uow, returnee_id=event.returnee_id)


async def _open_followup(uow: Uow, returnee_id: UUID, village_code: str) -> Followup:
    """The returnee's follow-up, created with a fresh reply code the first time."""
    session = uow.session
    followup = await session.get(Followup, returnee_id)
    if followup:
        return followup
    returnee = await session.get(Returnee, returnee_id)
    # The code's unique constraint decides, not a query per code: a clash (rare while the open follow-ups
    # are few against 10^8 codes) rolls back its savepoint only, and another code is drawn.
    for _ in range(CODE_DRAWS):
        followup = Followup(
            returnee_id=returnee_id,
            code=new_code(),
            commune_code=commune_of(village_code),
            village_code=village_code,
            home_isolation=bool(returnee and returnee.policy == "home"),
            created_at=uow.now(),
        )
        try:
            # Two consumers (transfers, episodes) may open the same follow-up at once after a backlog: the
            # loser takes the winner's row instead of failing its whole batch (and at last dead-lettering it).
            async with session.begin_nested():
                session.add(followup)
            return followup
        except IntegrityError:
            existing = await session.get(Followup, returnee_id, populate_existing=True)
            if existing is not None:
                return existing
    raise RuntimeError(f"no free reply code in {CODE_DRAWS} draws")  # the consumer retries the batch


async def queue_alert(
    uow: Uow,
    *,
    reason: str,
    returnee_id: UUID,
    commune_code: str,
    recipient_area: str,
    key: str,
    context: dict | None = None,
) -> int:
    """Queue the alert to the area's contact by SMS, and by webhook if it has one; returns rows added.

    The alert waits until the returnee's registration is here too (release_waiting).
    """
    session, now = uow.session, uow.now()
    contact = await session.get(Contact, recipient_area)
    channels = ["sms"]
    if contact and contact.webhook_url and not contact.webhook_disabled:
        channels.append("webhook")
    keys = {channel: f"{reason}:{returnee_id}:{key}:{recipient_area}:{channel}" for channel in channels}
    # The same event again: one alert is enough.
    seen = set(
        await session.scalars(select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(keys.values())))
    )
    # Due at once when the registration is here already (the follow-up always is: every caller opens it),
    # `waiting` for remember_returnee to release otherwise. Set here rather than updated after a flush:
    # the new rows stay in the batch's one multi-row INSERT.
    ready = await session.get(Returnee, returnee_id) is not None
    # Nobody to tell yet: held, shown (alerts_api) and counted, until a contact is saved (release_held).
    state = "no_contact" if contact is None else "queued" if ready else "waiting"
    if contact is None:
        log.warning("no contact for area, alert held", extra={"area": recipient_area, "reason": reason})
    added = 0
    for channel, dedupe_key in keys.items():
        if dedupe_key in seen:
            continue
        session.add(
            Delivery(
                dedupe_key=dedupe_key,
                returnee_id=returnee_id,
                commune_code=commune_code,
                recipient_area=recipient_area,
                reason=reason,
                channel=channel,
                context=context or {},
                state=state,
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    if added and state == "queued":
        _wake_worker(uow)
    return added


async def release_held(uow: Uow, *, contact: Contact) -> int:
    """Queue the alerts held for want of this contact (queue_alert), by webhook too if it has one;
    returns how many it released."""
    session, now = uow.session, uow.now()
    held = (
        await session.scalars(
            select(Delivery)
            .where(Delivery.state == "no_contact", Delivery.recipient_area == contact.area_code)
            .with_for_update()
        )
    ).all()
    if not held:
        return 0
    known = set(
        await session.scalars(select(Returnee.id).where(Returnee.id.in_({d.returnee_id for d in held})))
    )
    copies = []
    if contact.webhook_url and not contact.webhook_disabled:
        keys = {d.dedupe_key.removesuffix(":sms") + ":webhook": d for d in held if d.channel == "sms"}
        seen = set(await session.scalars(select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(keys))))
        copies = [(k, d) for k, d in keys.items() if k not in seen]
    for delivery in held:
        delivery.state = "queued" if delivery.returnee_id in known else "waiting"
        delivery.next_attempt_at = now
    for dedupe_key, sms in copies:
        session.add(
            Delivery(
                dedupe_key=dedupe_key,
                returnee_id=sms.returnee_id,
                commune_code=sms.commune_code,
                recipient_area=sms.recipient_area,
                reason=sms.reason,
                channel="webhook",
                context=sms.context,
                state=sms.state,
                next_attempt_at=now,
                created_at=now,
            )
        )
    _wake_worker(uow)
    return len(held) + len(copies)


async def alert_dispatched(
    uow: Uow, *, returnee_id: UUID, village_code: str, manifest_id: UUID, expected_arrival: datetime
) -> None:
    followup = await _open_followup(uow, returnee_id, village_code)
    followup.expected_arrival = expected_arrival
    await queue_alert(
        uow,
        reason="dispatched",
        returnee_id=returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=str(manifest_id),
        context={"when": expected_arrival.isoformat()},
    )


async def on_dispatched(uow: Uow, *, event: ManifestDispatched) -> None:
    for passenger in event.passengers:
        await alert_dispatched(
            uow,
            returnee_id=passenger.returnee_id,
            village_code=passenger.home_village_code,
            manifest_id=event.manifest_id,
            expected_arrival=event.expected_arrival,
        )


async def on_handed_over(uow: Uow, *, event: HandedOver) -> None:
    """Alert again and start the clock of the home visit."""
    followup = await _open_followup(uow, event.returnee_id, event.home_village_code)
    if followup.handed_over_at is None:
        followup.handed_over_at = event.handed_over_at
        followup.due_at = event.handed_over_at + timedelta(hours=uow.settings.visit_due_hours)
        followup.clear_since = followup.clear_since or event.handed_over_at
        if followup.state == "expected":
            followup.state = "open"
    await queue_alert(
        uow,
        reason="handed_over",
        returnee_id=event.returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=str(event.manifest_id),
        context={"when": event.handed_over_at.isoformat()},
    )


async def on_symptoms(uow: Uow, *, event: SymptomsReported) -> None:
    """Symptoms restart the count of clear days and tell the chief."""
    followup = await _open_followup(uow, event.returnee_id, event.home_village_code)
    if followup.state != "completed":
        followup.clear_since = max(followup.clear_since or event.reported_at, event.reported_at)
    await queue_alert(
        uow,
        reason="symptoms",
        returnee_id=event.returnee_id,
        commune_code=followup.commune_code,
        recipient_area=followup.commune_code,
        key=event.reported_at.isoformat(),
    )


async def on_quarantine_started(uow: Uow, *, event: QuarantineStarted) -> None:
    if event.mode is QuarantinePolicy.home:
        followup = await _open_followup(uow, event.returnee_id, event.home_village_code)
        followup.home_isolation = True


# --- replies from commune chiefs -----------------------------------------------------------------------


def _reply(uow: Uow, *, to: str, text: str, message_id: str, commune: str) -> None:
    now = uow.now()
    uow.session.add(
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


async def _apply(uow: Uow, *, command: Command, followup: Followup) -> None:
    now = uow.now()
    ids = {"returnee_id": followup.returnee_id, "commune_code": followup.commune_code}
    if command is Command.visit:
        if followup.visited_at is None:
            followup.visited_at = now
            if followup.state == "overdue":
                followup.state = "open"
            await uow.emit(VisitRecorded(**ids, visited_at=now))
        return
    followup.last_checkin_at = now
    if command is Command.sick:
        followup.clear_since = now
        await uow.emit(SelfIsolationCheckin(**ids, symptoms=["reported_by_commune"], reported_at=now))
    elif followup.home_isolation or await _registered_for_home(uow, followup.returnee_id):
        await uow.emit(SelfIsolationCheckin(**ids, reported_at=now))


async def _registered_for_home(uow: Uow, returnee_id: UUID) -> bool:
    # The registration and the dispatch come on different topics, so the follow-up may predate it.
    returnee = await uow.session.get(Returnee, returnee_id)
    return bool(returnee and returnee.policy == "home")


# Replies that matched nothing. Anyone can text us and the `from` number is all we know of them, so a number
# gets so many wrong replies an hour and a day (then nothing of it is taken, the right code neither), and a
# code tried from so many wrong numbers has leaked and is taken from no one.
FAILED = ("unparsed", "unknown_code", "wrong_sender", "locked")
MAX_FAILED_PER_HOUR = 5
MAX_FAILED_PER_DAY = 10
MAX_WRONG_SENDERS_PER_CODE = 5
# Error answers per contact and day: each is an SMS we pay for. Never to a number that is no contact (toll
# fraud: a premium number would have us pay it for every message it sends).
MAX_ERROR_REPLIES = 3


async def _failed(uow: Uow, *where, since: datetime | None = None) -> int:
    query = select(func.count()).select_from(Reply).where(Reply.outcome.in_(FAILED), *where)
    if since is not None:
        query = query.where(Reply.received_at > since)
    return await uow.session.scalar(query)


async def _throttled(uow: Uow, phone: str) -> bool:
    now = uow.now()
    return (
        await _failed(uow, Reply.sender == phone, since=now - timedelta(hours=1)) >= MAX_FAILED_PER_HOUR
        or await _failed(uow, Reply.sender == phone, since=now - timedelta(days=1)) >= MAX_FAILED_PER_DAY
    )


async def _locked(uow: Uow, followup: Followup) -> bool:
    wrong = await _failed(uow, Reply.returnee_id == followup.returnee_id, Reply.outcome == "wrong_sender")
    return wrong >= MAX_WRONG_SENDERS_PER_CODE


async def _contact_area(uow: Uow, phone: str) -> str | None:
    """The area whose contact has this number (the first, should two places share one)."""
    query = select(Contact.area_code).where(Contact.phone == phone).order_by(Contact.area_code).limit(1)
    return await uow.session.scalar(query)


async def _is_contact(uow: Uow, phone: str) -> bool:
    return await _contact_area(uow, phone) is not None


async def _may_answer_error(uow: Uow, phone: str) -> bool:
    if not await _is_contact(uow, phone):
        return False
    recent = await _failed(uow, Reply.sender == phone, since=uow.now() - timedelta(days=1))
    return recent < MAX_ERROR_REPLIES


async def handle_reply(uow: Uow, *, sender: str, text: str, message_id: str) -> str:
    """Record a chief's SMS reply and answer it; returns the outcome (nothing changes on an error)."""
    try:
        phone = normalize_phone(sender)
    except ValueError:
        return "bad_sender"
    session = uow.session
    if await session.scalar(select(Reply.id).where(Reply.message_id == message_id)):
        return "duplicate"  # smsbox retried a request we had already taken
    try:
        # The same message may race in twice: the loser's changes and events go with its savepoint.
        async with session.begin_nested():
            return await _take_reply(uow, phone=phone, text=text, message_id=message_id)
    except IntegrityError:
        return "duplicate"


async def _match(uow: Uow, phone: str, parsed: tuple[Command, str] | None) -> tuple[str, Followup | None]:
    """What a reply is (a command, or why it is refused) and the follow-up its code names."""
    if await _throttled(uow, phone):
        return "throttled", None
    if parsed is None:
        return "unparsed", None
    followup = await uow.session.scalar(select(Followup).where(Followup.code == parsed[1]))
    if followup is None:
        return "unknown_code", None
    if await _locked(uow, followup):
        return "locked", followup
    contact = await uow.session.get(Contact, followup.commune_code)
    if contact is None or normalize_phone(contact.phone) != phone:
        return "wrong_sender", followup
    return parsed[0].value, followup


async def _take_reply(uow: Uow, *, phone: str, text: str, message_id: str) -> str:
    parsed = parse_reply(text)
    outcome, followup = await _match(uow, phone, parsed)
    answer, commune = None, ""
    if followup and outcome not in FAILED:
        contact = await uow.session.get(Contact, followup.commune_code)
        await _apply(uow, command=parsed[0], followup=followup)
        answer, commune = render_reply(parsed[0], contact.language, parsed[1]), followup.commune_code
    elif outcome != "throttled" and await _may_answer_error(uow, phone):
        answer = ERROR_REPLY
    if answer:
        _reply(uow, to=phone, text=answer, message_id=message_id, commune=commune)
    else:
        log.info("reply not answered", extra={"outcome": outcome})  # never the number: anyone's, maybe
    uow.session.add(
        Reply(
            message_id=message_id,
            sender=phone,
            # Kept for a wrong sender too: it counts towards the code's lock.
            returnee_id=followup.returnee_id if followup else None,
            command=parsed[0].value if parsed else None,
            outcome=outcome,
            received_at=uow.now(),
            text=text[:500],
            area_code=await _contact_area(uow, phone) or (followup.commune_code if followup else None),
        )
    )
    return outcome


# --- what became of a delivery -------------------------------------------------------------------------


async def went_out(uow: Uow, *, delivery: Delivery) -> None:
    """The gateway or receiver took it (its answer, or a report): `sent`, and AlertSent the first time."""
    now = uow.now()
    first = delivery.sent_at is None
    delivery.sent_at = delivery.sent_at or now
    delivery.last_error = None
    if delivery.state == "sending":
        # A webhook's 2xx is the receiver's own acknowledgement; an SMS waits for its report.
        delivery.state = "delivered" if delivery.channel == "webhook" else "sent"
        if delivery.state == "delivered":
            delivery.delivered_at = now
    if first and delivery.returnee_id and delivery.reason != "reply":
        await uow.emit(
            AlertSent(
                returnee_id=delivery.returnee_id,
                commune_code=delivery.commune_code,
                channel=delivery.channel,
                reason=delivery.reason,
                sent_at=now,
            )
        )


async def record_delivery_report(uow: Uow, *, delivery_id: UUID, status: int) -> None:
    """Apply one of Kannel's delivery reports."""
    delivery = await uow.session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound("delivery not found")
    if delivery.channel != "sms" or delivery.state not in ("sending", "sent"):
        return  # a final state is never left: late or reordered reports change nothing
    delivery.dlr_status = status
    if status & (1 | 8):
        # On the phone (1), or taken by the operator's SMSC (8): it went out, even if the process that
        # sent it died before writing Kannel's answer.
        await went_out(uow, delivery=delivery)
        if status & 1:
            delivery.state, delivery.delivered_at = "delivered", uow.now()
    elif status & (2 | 16):
        delivery.state, delivery.last_error = "failed", f"delivery report {status}"


async def retry_delivery(uow: Uow, *, principal: Principal, delivery_id: UUID) -> DeliveryOut:
    """Queue a failed delivery again: a person's decision, since a failed SMS may have gone out after all."""
    delivery = await uow.session.get(Delivery, delivery_id, with_for_update=True)
    # Only the working group's own provinces: a commune chief's grant held besides opens no retry.
    if delivery is None or not principal.sees_village(delivery.commune_code, Role.provincial_wg):
        raise NotFound("delivery not found")
    if delivery.state != "failed":
        raise Conflict(f"state: {delivery.state}, only failed is retried")
    delivery.state, delivery.attempts = "queued", 0
    delivery.next_attempt_at, delivery.claimed_at = uow.now(), None
    await audit(uow, principal, "retry", "delivery", [delivery.id])
    return DeliveryOut.model_validate(delivery, from_attributes=True)


# --- the follow-up scanner -----------------------------------------------------------------------------


async def scan_followups(uow: Uow) -> tuple[int, int]:
    """Escalate visits not recorded in time, complete follow-ups with enough clear days: (overdue, done)."""
    session, now, days = uow.session, uow.now(), uow.settings.followup_days
    overdue = done = 0
    rows = (
        await session.scalars(
            select(Followup)
            .where(
                Followup.state.in_(("open", "overdue")),
                or_(
                    and_(Followup.state == "open", Followup.visited_at.is_(None), Followup.due_at <= now),
                    and_(
                        Followup.visited_at.is_not(None), Followup.clear_since <= now - timedelta(days=days)
                    ),
                ),
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    for followup in rows:
        ids = {"returnee_id": followup.returnee_id, "commune_code": followup.commune_code}
        if followup.state == "open" and is_overdue(
            due_at=followup.due_at, visited_at=followup.visited_at, now=now
        ):
            followup.state, followup.overdue_at = "overdue", now
            await uow.emit(FollowupOverdue(**ids, due_at=followup.due_at))
            await queue_alert(
                uow,
                reason="overdue",
                returnee_id=followup.returnee_id,
                commune_code=followup.commune_code,
                recipient_area=followup.commune_code[:4],
                key="visit",
            )
            overdue += 1
        elif followup.visited_at and is_complete(clear_since=followup.clear_since, days=days, now=now):
            followup.state, followup.completed_at = "completed", now
            await uow.emit(FollowupCompleted(**ids, completed_at=now))
            done += 1
    return overdue, done
