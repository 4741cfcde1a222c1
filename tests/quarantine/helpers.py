"""Shared steps of the quarantine tests: events into the stack's topics, facilities, episodes."""

from uuid import UUID

from shared.contracts import Event
from shared.contracts.intake import ReturneeRegistered
from shared.web.service import make_producer
from tests import factories
from tests.conftest import bearer
from tests.waiting import wait_until

ADMIN = bearer(("national_admin", "KH"))
POIPET = "KH-TH-01"  # Banteay Meanchey (01), has a position
MALAI = "KH-TH-05"  # Banteay Meanchey (01), about 25 km south-west of Poipet
VILLAGE = "01100201"


def registered(
    *,
    checkpoint: str = POIPET,
    household: UUID | None = None,
    care: tuple[str, ...] = (),
    policy: str = "border",
    village: str = VILLAGE,
) -> ReturneeRegistered:
    return factories.registered(
        checkpoint=checkpoint, household=household, care=care, policy=policy, village=village, sex="M"
    )


async def publish(stack, *events: Event, event_id: str | None = None) -> None:
    """Put contract events on the stack's topics, as their owning services would."""
    producer = make_producer(stack.infra.kafka)
    await producer.start()
    try:
        await stack.publish(producer, *events, event_id=event_id)
    finally:
        await producer.stop()


async def add_facility(
    service, facility_id: str, *, capacity: int, lat=None, lon=None, care=(), province="01"
):
    body = {
        "id": facility_id,
        "province_code": province,
        "name_en": f"{facility_id} centre",
        "name_km": "មណ្ឌលចត្តាឡីស័ក",
        "lat": lat,
        "lon": lon,
        "capacity": capacity,
        "special_care": list(care),
    }
    response = await service.client.post("/facilities", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def episode(service, returnee_id: UUID, headers=ADMIN) -> dict | None:
    response = await service.client.get(f"/returnees/{returnee_id}/episode", headers=headers)
    return response.json() if response.status_code == 200 else None


async def episode_in(service, returnee_id: UUID, status: str, timeout: float = 20.0) -> dict:
    """Wait until the returnee's episode reaches `status`; returns it."""

    async def reached():
        found = await episode(service, returnee_id)
        return found if found and found["status"] == status else None

    return await wait_until(reached, timeout=timeout, what=f"episode {status}")


async def checkin(service, episode_id: str, temperature: float = 36.6, symptoms=(), headers=ADMIN):
    return await service.client.post(
        f"/episodes/{episode_id}/checkins",
        json={"temperature_c": temperature, "symptoms": list(symptoms)},
        headers=headers,
    )


def of_type(events, cls) -> list:
    return [e for _, e in events if isinstance(e, cls)]
