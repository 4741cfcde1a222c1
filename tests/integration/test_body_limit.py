"""Request bodies over the cap are refused with 413 on a real service, announced or streamed, and nothing
is stored."""

import json

from sqlalchemy import func, select

from services.intake.models import Registration
from shared.messaging.outbox import outbox
from tests.factories import registration
from tests.intake.conftest import OFFICER

CAP = 4096


async def _stored(service) -> tuple[int, int]:
    async with service.runtime.sessions() as session:
        registrations = (await session.execute(select(func.count()).select_from(Registration))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(outbox))).scalar_one()
    return registrations, events


def padded(body: dict, size: int) -> bytes:
    """A valid registration, made `size` bytes long with JSON whitespace: only its length is wrong."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


async def test_a_body_over_the_cap_is_refused_whether_announced_or_streamed(stack):
    intake = await stack.start("intake", max_body_bytes=CAP)
    headers = {**OFFICER, "Content-Type": "application/json"}

    over = padded(registration(), CAP + 1)
    announced = await intake.client.post("/returnees", content=over, headers=headers)
    assert announced.status_code == 413, announced.text

    body = padded(registration(), 3 * CAP)

    async def chunks():  # no Content-Length: the cap counts what arrives
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    streamed = await intake.client.post("/returnees", content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text
    assert await _stored(intake) == (0, 0)

    # A garbled length is refused too, and a body at the cap goes through.
    bad_length = {**headers, "Content-Length": "x"}
    garbled = await intake.client.post("/returnees", content=b"{}", headers=bad_length)
    assert garbled.status_code == 400
    ok = await intake.client.post("/returnees", content=padded(registration(), CAP), headers=headers)
    assert ok.status_code == 201, ok.text
    assert await _stored(intake) == (1, 1)
