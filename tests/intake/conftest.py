"""Helpers of the intake tests: a valid registration body, and the app served over real HTTP."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer

# Angkrong village, Boeng Preah commune, Ba Phnum district, Prey Veng.
VILLAGE = "14010101"
POIPET = "KH-TH-01"
OFFICER = bearer(("checkpoint_officer", POIPET), subject="officer-poipet")


def person(**overrides) -> dict:
    """A valid person: a 30-year-old woman with a national ID card and a normal screening."""
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


def registration(**overrides) -> dict:
    body = person() | {
        "id": str(uuid.uuid4()),
        "checkpoint_id": POIPET,
        "arrived_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "home_village_code": VILLAGE,
    }
    return body | overrides


@pytest.fixture
def officer() -> dict:
    return OFFICER
