"""Builders of the tests' events and request bodies: valid by default, one keyword to change a field.

Each builder gives a distinct returnee (new ids and document numbers), so tests sharing one broker and
database never collide and intake's duplicate check does not match an earlier test's person.
"""

import uuid
from datetime import UTC, datetime, timedelta

from shared.contracts.intake import QuarantinePolicy, ReturneeRegistered, Screening, Sex
from shared.contracts.transport import ManifestDispatched, Passenger

POIPET = "KH-TH-01"
PREY_VENG_VILLAGE = "14010101"  # Angkrong village, Boeng Preah commune, Ba Phnum district


def registered(
    *,
    village: str = PREY_VENG_VILLAGE,
    checkpoint: str = POIPET,
    household: uuid.UUID | None = None,
    care: tuple[str, ...] | list[str] = (),
    symptoms: tuple[str, ...] | list[str] = (),
    policy: str | QuarantinePolicy = QuarantinePolicy.border,
    **fields,
) -> ReturneeRegistered:
    """intake's `returnee.registered` for a 30-year-old woman with a normal screening, arrived now."""
    values = dict(
        returnee_id=uuid.uuid4(),
        household_id=household,
        checkpoint_id=checkpoint,
        arrived_at=datetime.now(UTC),
        home_village_code=village,
        name_km="សុខ ចន្ទា",
        name_latin="Sok Chanda",
        sex=Sex.female,
        age_years=30,
        special_care=list(care),
        screening=Screening(temperature_c=36.6, symptoms=list(symptoms)),
        policy=QuarantinePolicy(policy),
    )
    return ReturneeRegistered(**(values | fields))


def dispatched(
    *people: ReturneeRegistered, province: str | None = None, arrival: datetime | None = None, **fields
) -> ManifestDispatched:
    """transport's `manifest_dispatched` carrying `people` to their province (or `province`)."""
    now = datetime.now(UTC)
    values = dict(
        manifest_id=uuid.uuid4(),
        destination_province_code=province or people[0].home_village_code[:2],
        vehicle_plate="2A-1234",
        dispatched_at=now,
        expected_arrival=arrival or now + timedelta(hours=5),
        passengers=[
            Passenger(returnee_id=p.returnee_id, home_village_code=p.home_village_code) for p in people
        ],
    )
    return ManifestDispatched(**(values | fields))


def person(**overrides) -> dict:
    """The person part of a tablet's registration body: valid, with a national ID card of their own."""
    body = {
        "name_km": "សុខ ចន្ទា",
        "name_latin": "Sok Chanda",
        "sex": "F",
        "date_of_birth": "1995-03-14",
        "phone": "012 345 678",
        "id_doc_type": "national_id",
        "id_doc_number": f"N{uuid.uuid4().int % 10**9:09d}",
        "worked_in": "Chonburi, construction",
        "migration_status": "mou_worker",
        "screening": {"temperature_c": 36.6, "symptoms": [], "test_result": "none"},
        "special_care": [],
        "needs": ["food"],
        "consent": True,
    }
    return body | overrides


def registration(*, now: datetime | None = None, **overrides) -> dict:
    """A whole `POST /registrations` body: a person who arrived at Poipet five minutes before `now`."""
    body = person() | {
        "id": str(uuid.uuid4()),
        "checkpoint_id": POIPET,
        "arrived_at": ((now or datetime.now(UTC)) - timedelta(minutes=5)).isoformat(),
        "home_village_code": PREY_VENG_VILLAGE,
    }
    return body | overrides
