"""Helpers of the intake tests: the checkpoint officer's token (bodies come from tests/factories.py)."""

import pytest

from tests.conftest import bearer
from tests.factories import POIPET

OFFICER = bearer(("checkpoint_officer", POIPET), subject="officer-poipet")


@pytest.fixture
def officer() -> dict:
    return OFFICER
