"""How each event changes the read model, and what a rebuild empties and rewinds to replay every topic.

The consumer runs each handler in the transaction that also records the event id in the inbox, so a
redelivered event changes nothing. Events of one returnee travel on four topics and may arrive in any
order: every handler creates the returnee's row when it is missing and only sets what its event knows.
"""

from datetime import datetime
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import delete

from services.dashboard.domain import Steps, age_group, cambodia_day, status_of
from services.dashboard.models import CheckpointSync, ReturneeState
from services.dashboard.settings import Settings
from shared.contracts import Event
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.notify import AlertSent, FollowupCompleted, FollowupOverdue, VisitRecorded
from shared.contracts.quarantine import (
    QuarantineCompleted,
    QuarantineStarted,
    QuarantineWaiting,
    ReferralCleared,
)
from shared.contracts.transport import HandedOver, ManifestDispatched, PassengerMissing
from shared.db import as_utc
from shared.messaging.outbox import processed_event
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[Settings]


async def _row(
    uow: Uow, returnee_id: UUID, village_code: str | None, *, authoritative: bool = False
) -> ReturneeState:
    """The returnee's row, created on first sight.

    The registration and its corrections own the home address; another context's event only fills it in
    until they arrive (it may carry an address from before a correction). The row is locked until commit:
    consumers of the same group may handle two events of one returnee at once (from different topics).
    Two first sights at once: one insert fails, and the consumer's retry finds the row.
    """
    row = await uow.session.get(ReturneeState, returnee_id, with_for_update=True)
    code = village_code or "00000000"
    if row is None:
        row = ReturneeState(
            returnee_id=returnee_id,
            village_code=code,
            commune_code=code[:6],
            district_code=code[:4],
            province_code=code[:2],
        )
        uow.session.add(row)
    elif village_code and (authoritative or not row.registered) and village_code != row.village_code:
        row.village_code = code
        row.commune_code, row.district_code, row.province_code = code[:6], code[:4], code[:2]
    return row


def _refresh(row: ReturneeState, uow: Uow) -> None:
    row.status = status_of(
        Steps(
            referred=row.referred_on is not None,
            referral_cleared=row.referral_cleared,
            waiting=row.waiting_since is not None,
            quarantined=row.quarantine_on is not None,
            home_quarantine=row.quarantine_mode == "home",
            released=row.released_on is not None,
            transported=row.transported_on is not None,
            handed_over=row.handed_over_on is not None,
            missing=row.missing_on is not None,
        )
    )
    sent = _sent(uow)
    if sent and (row.last_event_at is None or as_utc(sent) > as_utc(row.last_event_at)):
        row.last_event_at = as_utc(sent)


def _sent(uow: Uow) -> datetime | None:
    """When the handled event happened, as its envelope says."""
    return uow.envelope.time if uow.envelope else None


async def on_snapshot(uow: Uow, *, event: ReturneeRegistered) -> None:
    """A registration or its correction: who the returnee is, where they came through and go home to."""
    row = await _row(uow, event.returnee_id, event.home_village_code, authoritative=True)
    row.registered = True
    row.checkpoint_id = event.checkpoint_id
    row.arrived_at = event.arrived_at
    row.arrival_day = cambodia_day(event.arrived_at)
    row.sex = event.sex.value
    row.age_group = age_group(event.age_years)
    row.policy = event.policy.value
    row.screened = event.screening is not None
    care = {c.value for c in event.special_care}
    for need in ("child", "infant", "pregnant", "ill", "elderly", "disability"):
        setattr(row, f"care_{need}", need in care)
    _refresh(row, uow)
    await _synced(uow, event.checkpoint_id, max(event.arrived_at, _sent(uow) or event.arrived_at))


async def _synced(uow: Uow, checkpoint_id: str, at: datetime) -> None:
    sync = await uow.session.get(CheckpointSync, checkpoint_id, with_for_update=True)
    if sync is None:
        uow.session.add(CheckpointSync(checkpoint_id=checkpoint_id, last_sync_at=as_utc(at)))
    elif as_utc(at) > as_utc(sync.last_sync_at):
        sync.last_sync_at = as_utc(at)


async def on_referred(uow: Uow, *, event: ReturneeReferred) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.referred_on = row.referred_on or cambodia_day(event.referred_at)
    row.checkpoint_id = row.checkpoint_id or event.checkpoint_id
    _refresh(row, uow)


async def on_referral_cleared(uow: Uow, *, event: ReferralCleared) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.referral_cleared = True
    _refresh(row, uow)


async def on_waiting(uow: Uow, *, event: QuarantineWaiting) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.waiting_since = row.waiting_since or cambodia_day(event.since)
    _refresh(row, uow)


async def on_quarantine_started(uow: Uow, *, event: QuarantineStarted) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.quarantine_mode = event.mode.value
    row.facility_id = event.facility_id
    row.quarantine_on = event.starts_on
    _refresh(row, uow)


async def on_quarantine_completed(uow: Uow, *, event: QuarantineCompleted) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.quarantine_mode = row.quarantine_mode or event.mode.value
    row.released_on = event.completed_on
    _refresh(row, uow)


async def on_dispatched(uow: Uow, *, event: ManifestDispatched) -> None:
    """One vehicle: every passenger's row goes in transit."""
    for passenger in event.passengers:
        row = await _row(uow, passenger.returnee_id, passenger.home_village_code)
        row.manifest_id = event.manifest_id
        row.destination_province_code = event.destination_province_code
        row.transported_on = cambodia_day(event.dispatched_at)
        row.expected_arrival = event.expected_arrival
        _refresh(row, uow)


async def on_handed_over(uow: Uow, *, event: HandedOver) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.manifest_id = row.manifest_id or event.manifest_id
    row.handed_over_on = cambodia_day(event.handed_over_at)
    _refresh(row, uow)


async def on_missing(uow: Uow, *, event: PassengerMissing) -> None:
    row = await _row(uow, event.returnee_id, event.home_village_code)
    row.manifest_id = row.manifest_id or event.manifest_id
    row.missing_on = cambodia_day(event.reported_at)
    _refresh(row, uow)


async def _followup_row(uow: Uow, returnee_id: UUID, commune_code: str) -> ReturneeState:
    """Follow-up events know the commune only: a placeholder village ("00") until another event tells."""
    row = await uow.session.get(ReturneeState, returnee_id, with_for_update=True)
    if row is not None:
        return row
    return await _row(uow, returnee_id, commune_code + "00")


async def on_alert_sent(uow: Uow, *, event: AlertSent) -> None:
    row = await _followup_row(uow, event.returnee_id, event.commune_code)
    row.alerted_on = row.alerted_on or cambodia_day(event.sent_at)
    _refresh(row, uow)


async def on_visit(uow: Uow, *, event: VisitRecorded) -> None:
    row = await _followup_row(uow, event.returnee_id, event.commune_code)
    row.visited_on = row.visited_on or cambodia_day(event.visited_at)
    _refresh(row, uow)


async def on_overdue(uow: Uow, *, event: FollowupOverdue) -> None:
    row = await _followup_row(uow, event.returnee_id, event.commune_code)
    row.overdue_on = row.overdue_on or cambodia_day(event.due_at)
    _refresh(row, uow)


async def on_completed(uow: Uow, *, event: FollowupCompleted) -> None:
    row = await _followup_row(uow, event.returnee_id, event.commune_code)
    row.completed_on = row.completed_on or cambodia_day(event.completed_at)
    _refresh(row, uow)


async def on_other(uow: Uow, *, event: Event) -> None:
    """A contract the read model has no figure for yet: the returnee is known, nothing is counted."""
    returnee_id = getattr(event, "returnee_id", None)
    if returnee_id is None:
        return
    row = await _row(uow, returnee_id, getattr(event, "home_village_code", None))
    _refresh(row, uow)


HANDLERS = {
    ReturneeRegistered: on_snapshot,
    ReturneeCorrected: on_snapshot,
    ReturneeReferred: on_referred,
    ReferralCleared: on_referral_cleared,
    QuarantineWaiting: on_waiting,
    QuarantineStarted: on_quarantine_started,
    QuarantineCompleted: on_quarantine_completed,
    ManifestDispatched: on_dispatched,
    HandedOver: on_handed_over,
    PassengerMissing: on_missing,
    AlertSent: on_alert_sent,
    VisitRecorded: on_visit,
    FollowupOverdue: on_overdue,
    FollowupCompleted: on_completed,
}


# --- rebuild ----------------------------------------------------------------------------------------------


async def clear_read_model(uow: Uow, *, group: str) -> int:
    """Empty the read model and forget which events `group` processed; returns the returnee rows removed."""
    removed = (await uow.session.execute(delete(ReturneeState))).rowcount
    await uow.session.execute(delete(CheckpointSync))
    await uow.session.execute(delete(processed_event).where(processed_event.c.consumer == group))
    return removed


async def rewind_group(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit the first offset of every partition for `group`, so it reads the topics again from the start.

    Only while no member of the group runs: a live member would commit its own position over ours.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    if not partitions:
        return
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await kafka.start()
    try:
        kafka.assign(partitions)
        starts = await kafka.beginning_offsets(partitions)
        await kafka.commit(dict(starts))
    finally:
        await kafka.stop()


def consumer_group(settings: Settings) -> str:
    """The group as the service frame names it: prefixed like the topics, so tenants never share one."""
    return settings.topic_prefix + settings.consumer_group
