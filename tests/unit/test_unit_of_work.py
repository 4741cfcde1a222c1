"""`UnitOfWork.on_commit`: an action runs once its whole transaction commits, never when it rolls back."""

import pytest
from sqlalchemy import text

from shared.clock import Clock
from shared.db import make_engine, make_sessionmaker
from shared.unit_of_work import UnitOfWork


@pytest.fixture
async def sessions():
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    yield make_sessionmaker(engine)
    await engine.dispose()


def unit(session) -> UnitOfWork:
    return UnitOfWork(session, Clock(1, None), None, "/border/test")


async def test_an_action_runs_after_the_commit_and_a_rolled_back_savepoint_keeps_it(sessions):
    done = []
    async with sessions.begin() as session:
        unit(session).on_commit(lambda: done.append("first"))
        with pytest.raises(ValueError):
            async with session.begin_nested():
                await session.execute(text("select 1"))
                raise ValueError
        assert done == []  # not before the commit
    assert done == ["first"]


async def test_a_rolled_back_transaction_runs_nothing_and_leaves_nothing_for_the_next(sessions):
    done = []
    with pytest.raises(ValueError):
        async with sessions.begin() as session:
            unit(session).on_commit(lambda: done.append("lost"))
            raise ValueError
    async with sessions() as session:
        async with session.begin():
            unit(session).on_commit(lambda: done.append("second"))
        async with session.begin():  # the same session's next transaction runs it no second time
            pass
    assert done == ["second"]
