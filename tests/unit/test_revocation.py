"""The services' revocation list: read from identity, kept when identity does not answer, required in prod."""

import asyncio

import httpx
import pytest
from pydantic import ValidationError

from shared.settings import ServiceSettings
from shared.web.revocation import Revocations, subject_key
from tests.conftest import PROD, TEST_PUBLIC_KEY


def _identity(answers: list):
    """A fake identity answering each read with the next of `answers` (a dict, or an exception)."""
    reads = []

    def handle(request: httpx.Request) -> httpx.Response:
        reads.append(request.url.path)
        answer = answers[min(len(reads), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json={"not_before": answer})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), reads


async def test_a_token_issued_before_its_subjects_not_before_is_revoked():
    client, _ = _identity([{subject_key("sokha"): 1000}])
    revocations = Revocations("http://identity/auth/revocations", 30, client=client)

    assert await revocations.issued_before_not_before("sokha", 999)
    assert not await revocations.issued_before_not_before("sokha", 1000)
    assert not await revocations.issued_before_not_before("dara", 1)


async def test_when_identity_does_not_answer_the_last_list_stays():
    client, reads = _identity([{subject_key("sokha"): 1000}, httpx.ConnectError("identity is down")])
    revocations = Revocations("http://identity/auth/revocations", 0.05, client=client)
    assert await revocations.issued_before_not_before("sokha", 999)

    await asyncio.sleep(0.1)
    await revocations.issued_before_not_before("sokha", 999)  # starts the read that fails
    await asyncio.sleep(0.05)

    assert len(reads) == 2
    assert await revocations.issued_before_not_before("sokha", 999)


async def test_the_list_is_read_again_after_the_interval_only():
    client, reads = _identity([{}, {subject_key("sokha"): 1000}])
    revocations = Revocations("http://identity/auth/revocations", 0.2, client=client)
    for _ in range(5):
        assert not await revocations.issued_before_not_before("sokha", 999)
    assert len(reads) == 1

    await asyncio.sleep(0.25)
    await revocations.issued_before_not_before("sokha", 999)  # finds the list stale: reads it again
    await asyncio.sleep(0.05)
    assert await revocations.issued_before_not_before("sokha", 999)
    assert len(reads) == 2


def test_production_refuses_to_start_without_a_revocations_url():
    with pytest.raises(ValidationError, match="JWT_REVOCATIONS_URL"):
        ServiceSettings(jwt_key=TEST_PUBLIC_KEY, **PROD | {"jwt_revocations_url": None})
    assert ServiceSettings(jwt_key=TEST_PUBLIC_KEY, **PROD).token_config()
    with pytest.raises(ValidationError):
        ServiceSettings(jwt_revocations_refresh_seconds=120)  # revocation must take effect within a minute
