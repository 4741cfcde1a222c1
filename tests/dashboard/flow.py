"""A scripted week of five returnees through every context, as the events the services publish.

The expected figures below are worked out by hand from the script, not by the code under test.
"""

import asyncio
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.clock import CAMBODIA
from shared.contracts import Event
from shared.contracts.intake import (
    QuarantinePolicy,
    ReturneeCorrected,
    ReturneeReferred,
    ReturneeRegistered,
    Screening,
)
from shared.contracts.notify import AlertSent, FollowupCompleted, FollowupOverdue, VisitRecorded
from shared.contracts.quarantine import (
    QuarantineCompleted,
    QuarantineStarted,
    QuarantineWaiting,
    ReferralCleared,
)
from shared.contracts.transport import HandedOver, ManifestDispatched, Passenger
from shared.messaging.codec import encode

D = date(2026, 11, 16)
# Battambang (02), district Banan (0201): communes Kantueu Muoy (020101) and Kantueu Pir (020102).
C1_VILLAGE, C2_VILLAGE = "02010101", "02010201"
PREY_VENG_VILLAGE = "14010101"  # Prey Veng (14), commune 140101


def at(day: int, hour: int = 9) -> datetime:
    """A moment on day D+day, Cambodia time."""
    return datetime(D.year, D.month, D.day, hour, tzinfo=CAMBODIA) + timedelta(days=day)


def on(day: int) -> date:
    return D + timedelta(days=day)


def _registered(
    rid: UUID, cp: str, day: int, village: str, sex: str, age: int, care: list[str], **kw
) -> dict:
    return dict(
        returnee_id=rid,
        checkpoint_id=cp,
        arrived_at=at(day, 8),
        home_village_code=village,
        name_km="សុខ",
        name_latin="Sok",
        sex=sex,
        age_years=age,
        special_care=care,
        screening=Screening(temperature_c=36.6),
        policy=kw.get("policy", QuarantinePolicy.border),
    )


def script() -> list[Event]:
    """Five returnees' events, in an order no single consumer would see them in.

    A: quarantined, released, taken home, visited. B: referred, cleared, in quarantine. C: released, on an
    overdue vehicle. D (Prey Veng): home policy, taken home, follow-up overdue. E: waiting, corrected.
    """
    a, b, c, d, e = (uuid4() for _ in range(5))
    m1, m2 = uuid4(), uuid4()
    ep = {r: uuid4() for r in (a, b, c, d, e)}
    return [
        ReturneeRegistered(**_registered(a, "KH-TH-01", 0, C1_VILLAGE, "F", 30, ["pregnant"])),
        ReturneeRegistered(**_registered(b, "KH-TH-01", 0, C2_VILLAGE, "M", 3, ["infant"])),
        ReturneeRegistered(
            **_registered(d, "KH-TH-01", 0, PREY_VENG_VILLAGE, "F", 25, [], policy=QuarantinePolicy.home)
        ),
        ReturneeReferred(
            returnee_id=b,
            checkpoint_id="KH-TH-01",
            home_village_code=C2_VILLAGE,
            reason="fever",
            referred_at=at(0),
        ),
        QuarantineStarted(
            returnee_id=a,
            episode_id=ep[a],
            home_village_code=C1_VILLAGE,
            mode="border",
            facility_id="F-01",
            starts_on=on(0),
            ends_on=on(14),
        ),
        ManifestDispatched(
            manifest_id=m2,
            destination_province_code="14",
            vehicle_plate="2A-0001",
            dispatched_at=at(0, 15),
            expected_arrival=at(0, 20),
            passengers=[Passenger(returnee_id=d, home_village_code=PREY_VENG_VILLAGE)],
        ),
        ReturneeRegistered(**_registered(c, "KH-TH-09", 1, C1_VILLAGE, "M", 65, ["elderly", "ill"])),
        ReturneeRegistered(**_registered(e, "KH-TH-01", 1, C2_VILLAGE, "X", 10, ["child"])),
        ReturneeCorrected(**_registered(e, "KH-TH-01", 1, C1_VILLAGE, "X", 12, ["child"])),
        ReferralCleared(returnee_id=b, episode_id=ep[b], home_village_code=C2_VILLAGE, cleared_at=at(1)),
        QuarantineStarted(
            returnee_id=b,
            episode_id=ep[b],
            home_village_code=C2_VILLAGE,
            mode="border",
            facility_id="F-01",
            starts_on=on(1),
            ends_on=on(15),
        ),
        QuarantineStarted(
            returnee_id=c,
            episode_id=ep[c],
            home_village_code=C1_VILLAGE,
            mode="border",
            facility_id="F-02",
            starts_on=on(1),
            ends_on=on(15),
        ),
        QuarantineWaiting(
            returnee_id=e, episode_id=ep[e], home_village_code=C1_VILLAGE, province_code="01", since=at(1)
        ),
        HandedOver(
            returnee_id=d, manifest_id=m2, home_village_code=PREY_VENG_VILLAGE, handed_over_at=at(1, 7)
        ),
        AlertSent(
            returnee_id=d, commune_code="140101", channel="sms", reason="handed_over", sent_at=at(1, 8)
        ),
        QuarantineCompleted(
            returnee_id=a, episode_id=ep[a], home_village_code=C1_VILLAGE, mode="border", completed_on=on(2)
        ),
        QuarantineCompleted(
            returnee_id=c, episode_id=ep[c], home_village_code=C1_VILLAGE, mode="border", completed_on=on(2)
        ),
        ManifestDispatched(
            manifest_id=m1,
            destination_province_code="02",
            vehicle_plate="2B-0002",
            dispatched_at=at(2, 10),
            expected_arrival=at(2, 12),
            passengers=[
                Passenger(returnee_id=a, home_village_code=C1_VILLAGE),
                Passenger(returnee_id=c, home_village_code=C1_VILLAGE),
            ],
        ),
        FollowupOverdue(returnee_id=d, commune_code="140101", due_at=at(2, 8)),
        HandedOver(returnee_id=a, manifest_id=m1, home_village_code=C1_VILLAGE, handed_over_at=at(3, 7)),
        AlertSent(
            returnee_id=a, commune_code="020101", channel="sms", reason="handed_over", sent_at=at(3, 8)
        ),
        VisitRecorded(returnee_id=a, commune_code="020101", visited_at=at(4)),
        FollowupCompleted(returnee_id=a, commune_code="020101", completed_at=at(5)),
    ]


async def publish(producer: AIOKafkaProducer, prefix: str, events: list[Event]) -> None:
    """Publish contract instances to the stack's prefixed topics, the way the outbox relay does."""
    for event in events:
        message = encode(event, source="/border/test")
        headers = [(k, v if isinstance(v, bytes) else v.encode()) for k, v in message.headers.items()]
        key = message.key if isinstance(message.key, bytes) else str(message.key).encode()
        await _send(producer, prefix + event.topic, key, message.value, headers)


async def _send(producer: AIOKafkaProducer, topic: str, key: bytes, value: bytes, headers: list) -> None:
    """Send one record; a fresh topic's partitions may still be electing a leader, so retry that briefly."""
    for attempt in range(10):
        try:
            await producer.send_and_wait(topic, key=key, value=value, headers=headers)
            return
        except KafkaError as exc:
            if not exc.retriable or attempt == 9:
                raise
            await asyncio.sleep(0.5)


Z = dict(
    received=0,
    screened=0,
    referred=0,
    in_quarantine=0,
    released=0,
    transported=0,
    handed_over=0,
    visited=0,
    overdue=0,
)

# (day offset, home province, checkpoint) -> figures; rows with every figure 0 are not listed.
EXPECTED_ROWS = {
    (0, "02", "KH-TH-01"): Z | dict(received=2, screened=2, referred=1, in_quarantine=1),
    (0, "14", "KH-TH-01"): Z | dict(received=1, screened=1, transported=1),
    (1, "02", "KH-TH-01"): Z | dict(received=1, screened=1, in_quarantine=2),
    (1, "02", "KH-TH-09"): Z | dict(received=1, screened=1, in_quarantine=1),
    (1, "14", "KH-TH-01"): Z | dict(handed_over=1),
    (2, "02", "KH-TH-01"): Z | dict(in_quarantine=1, released=1, transported=1),
    (2, "02", "KH-TH-09"): Z | dict(released=1, transported=1),
    (2, "14", "KH-TH-01"): Z | dict(overdue=1),
    (3, "02", "KH-TH-01"): Z | dict(in_quarantine=1, handed_over=1),
    (4, "02", "KH-TH-01"): Z | dict(in_quarantine=1, visited=1),
    (5, "02", "KH-TH-01"): Z | dict(in_quarantine=1),
}

# The week D..D+5, summed per commune and rolled up (in quarantine: at the end of D+5).
C1 = Z | dict(
    received=3, screened=3, released=2, transported=2, handed_over=1, visited=1, alerted=1, completed=1
)
C2 = Z | dict(received=1, screened=1, referred=1, in_quarantine=1, alerted=0, completed=0)
PV = Z | dict(received=1, screened=1, transported=1, handed_over=1, overdue=1, alerted=1, completed=0)


def _sum(*parts: dict) -> dict:
    return {k: sum(p[k] for p in parts) for k in parts[0]}


EXPECTED_ROLLUP = {
    "KH": _sum(C1, C2, PV),
    "02": _sum(C1, C2),
    "0201": _sum(C1, C2),
    "020101": C1,
    "020102": C2,
    "14": PV,
    "1401": PV,
    "140101": PV,
}

# The national summary, any day after the week.
EXPECTED_SUMMARY = {
    "totals": Z
    | dict(
        received=5,
        screened=5,
        referred=1,
        in_quarantine=1,
        released=2,
        transported=3,
        handed_over=2,
        visited=1,
        overdue=1,
    ),
    "status": dict(
        registered=0,
        referred=0,
        waiting=1,
        in_quarantine=1,
        released=0,
        in_transit=1,
        handed_over=2,
        missing=0,
    ),
    "sex": dict(F=2, M=2, X=1),
    "age_groups": {"0-4": 1, "5-17": 1, "18-59": 2, "60+": 1},
    "special_care": dict(child=1, infant=1, pregnant=1, ill=1, elderly=1, disability=0),
    "followup": dict(alerted=2, visited=1, overdue=1, completed=1),
    "transit": dict(in_transit=1, overdue=1, missing=0, waiting_for_a_bed=1),
}
EXPECTED_ARRIVALS = [(0, "KH-TH-01", 3), (1, "KH-TH-01", 1), (1, "KH-TH-09", 1)]
