"""Replies by SMS: only known contacts are answered, and guessing codes is bounded per number and per code."""

import logging
from datetime import timedelta

from sqlalchemy import select

from services.notify import handlers
from services.notify.models import Reply
from tests.notify.conftest import dispatched, phone, registered, villages


async def _alert(notify, chief: str):
    village, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    person = registered(village.code)
    await notify.publish(person, dispatched(person))
    return person, (await notify.followup(person.returnee_id)).code


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


async def answers_to(notify, number: str) -> list:
    return [d for d in await notify.deliveries(reason="reply") if d.to_phone == number]


async def outcomes(notify, number: str) -> list[str]:
    async with notify.rt.sessions() as session:
        query = select(Reply.outcome).where(Reply.sender == number).order_by(Reply.received_at)
        return list((await session.scalars(query)).all())


async def test_a_number_that_is_no_contact_is_never_answered(notify, caplog) -> None:
    person, code = await _alert(notify, phone())
    stranger = phone()
    caplog.set_level(logging.INFO)
    for text in ("hello", f"VISIT {_other(code)}", f"VISIT {code}"):
        assert (await notify.inbound(stranger, text)).status_code == 200
    assert await answers_to(notify, stranger) == []  # no SMS we pay for, to a number anyone may give
    assert await outcomes(notify, stranger) == ["unparsed", "unknown_code", "wrong_sender"]
    assert (await notify.followup(person.returnee_id)).visited_at is None
    assert any("not answered" in r.getMessage() for r in caplog.records)
    assert stranger not in caplog.text and stranger[3:] not in caplog.text


async def test_wrong_replies_from_a_number_are_bounded_per_hour_and_per_day(notify) -> None:
    chief = phone()
    person, code = await _alert(notify, chief)
    clock = notify.rt.clock
    for _ in range(handlers.MAX_FAILED_PER_HOUR):
        await notify.inbound(chief, f"VISIT {_other(code)}")
    # The bound reached, even the right code is not taken, and the number gets no answer.
    await notify.inbound(chief, f"VISIT {code}")
    assert (await notify.followup(person.returnee_id)).visited_at is None
    assert (await outcomes(notify, chief))[-1] == "throttled"
    assert len(await answers_to(notify, chief)) == handlers.MAX_ERROR_REPLIES

    clock.advance(timedelta(hours=1, minutes=1))
    for _ in range(handlers.MAX_FAILED_PER_DAY - handlers.MAX_FAILED_PER_HOUR):
        await notify.inbound(chief, f"OK {_other(code)}")
    clock.advance(timedelta(hours=1, minutes=1))
    await notify.inbound(chief, f"VISIT {code}")  # the day's bound, though the last hour was quiet
    assert (await notify.followup(person.returnee_id)).visited_at is None
    assert (await outcomes(notify, chief))[-1] == "throttled"

    clock.advance(timedelta(days=1))
    await notify.inbound(chief, f"VISIT {code}")
    assert (await notify.followup(person.returnee_id)).visited_at is not None
    assert (await outcomes(notify, chief))[-1] == "visit"


async def test_a_code_tried_from_too_many_wrong_numbers_is_locked(notify) -> None:
    chief = phone()
    person, code = await _alert(notify, chief)
    for _ in range(handlers.MAX_WRONG_SENDERS_PER_CODE):
        await notify.inbound(phone(), f"VISIT {code}")  # the code has leaked: tried from number after number
    await notify.inbound(chief, f"VISIT {code}")
    assert (await notify.followup(person.returnee_id)).visited_at is None
    assert await outcomes(notify, chief) == ["locked"]
