"""Helpers of the transport tests: contract instances for the events transport reads, and a way to publish
them on the stack's topics as intake and quarantine would."""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from shared.contracts import Event
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.quarantine import QuarantineCompleted, ReferralCleared, SymptomsReported
from shared.contracts.topics import TRANSFER
from tests import factories
from tests.conftest import bearer
from tests.waiting import wait_until

POIPET = "KH-TH-01"  # Banteay Meanchey (01)
CHAM_YEAM = "KH-TH-11"  # Koh Kong (09)
PHNOM_PENH = "12010101"
PHNOM_PENH_2 = "12020101"  # another district of Phnom Penh
KAMPONG_CHAM = "03010101"
PREY_VENG = "14010101"

ADMIN = bearer(("national_admin", "KH"), subject="admin")
OFFICER_01 = bearer(("transport_officer", "01"), subject="officer-bmc")


def registered(
    village: str = PHNOM_PENH,
    *,
    policy: str = "border",
    household: UUID | None = None,
    checkpoint: str = POIPET,
    care: tuple[str, ...] = (),
    symptoms: tuple[str, ...] = (),
) -> ReturneeRegistered:
    return factories.registered(
        village=village,
        policy=policy,
        household=household,
        checkpoint=checkpoint,
        care=care,
        symptoms=symptoms,
    )


def corrected(r: ReturneeRegistered, village: str) -> ReturneeCorrected:
    return ReturneeCorrected(**(r.model_dump() | {"home_village_code": village}))


def completed(r: ReturneeRegistered) -> QuarantineCompleted:
    return QuarantineCompleted(
        returnee_id=r.returnee_id,
        episode_id=uuid4(),
        home_village_code=r.home_village_code,
        mode="border",
        completed_on=date.today(),
    )


def symptoms(r: ReturneeRegistered) -> SymptomsReported:
    return SymptomsReported(
        returnee_id=r.returnee_id,
        episode_id=uuid4(),
        home_village_code=r.home_village_code,
        symptoms=["fever"],
        temperature_c=38.4,
        reported_at=datetime.now(UTC),
    )


def cleared(r: ReturneeRegistered) -> ReferralCleared:
    return ReferralCleared(
        returnee_id=r.returnee_id,
        episode_id=uuid4(),
        home_village_code=r.home_village_code,
        cleared_at=datetime.now(UTC),
    )


def referred(r: ReturneeRegistered) -> ReturneeReferred:
    return ReturneeReferred(
        returnee_id=r.returnee_id,
        checkpoint_id=r.checkpoint_id,
        home_village_code=r.home_village_code,
        reason="positive test",
        referred_at=datetime.now(UTC),
    )


class Feed:
    """Publishes contract instances on the stack's prefixed topics and waits until transport consumed them."""

    def __init__(self, stack, service):
        self.stack = stack
        self.service = service
        self.sent = 0

    async def publish(self, *events: Event, event_id: str | None = None) -> None:
        await self.stack.publish(self.service.runtime.producer, *events, event_id=event_id)
        self.sent += len(events)
        await wait_until(
            lambda: sum(c.processed for c in self.service.runtime.consumers) >= self.sent,
            what="transport consumed what was published",
        )

    async def released(self, *people: ReturneeRegistered) -> None:
        """Register people and, for those quarantined at the border, complete their 14 days."""
        await self.publish(*people)
        await self.publish(*(completed(r) for r in people if r.policy == "border"))


@pytest.fixture
async def transport(stack):
    return await stack.start("transport")


@pytest.fixture
def feed(stack, transport) -> Feed:
    return Feed(stack, transport)


async def add_vehicle(client, seats: int, province: str = "01", plate: str | None = None) -> str:
    r = await client.post(
        "/vehicles",
        json={
            "plate": plate or f"2A-{uuid4().hex[:4]}",
            "seats": seats,
            "driver": "Driver",
            "escort": "Escort",
            "origin_province_code": province,
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def transfer_events(stack, expect: int, kind: type[Event] | None = None) -> list[Event]:
    pairs = await stack.events(TRANSFER, expect=expect)
    events = [e for _env, e in pairs]
    return [e for e in events if kind is None or isinstance(e, kind)]
