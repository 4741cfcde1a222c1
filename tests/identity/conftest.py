"""An identity service on a fresh database, and users created through its own use cases."""

import pytest

from services.identity import handlers
from shared.web.auth import Grant, Principal
from tests.conftest import Stack
from tests.waiting import wait_until

PASSWORD = "correct horse battery"


async def start_identity(stack, **overrides):
    """Identity with no delay after a failed login, so the brake tests run fast."""
    settings = {"failed_login_delay_seconds": 0.0, "max_failed_logins": 3} | overrides
    service = await stack.start("identity", **settings)
    # Let the outbox relay open its connection first: a connect cancelled mid-handshake at teardown
    # leaves a half-open backend that stalls every DROP DATABASE on the server for a minute.
    await wait_until(lambda: service.runtime.engine.pool.checkedin() >= 1, what="the relay's connection")
    return service


@pytest.fixture
async def quiet_stack(infra, unique):
    """A stack that creates no topics: identity publishes and consumes no events, and every topic
    set left on the shared broker costs it memory."""
    stack = Stack(infra, unique("t") + ".")
    yield stack
    await stack.close()


@pytest.fixture
async def identity(quiet_stack):
    return await start_identity(quiet_stack)


async def add_user(service, username: str, *grants: tuple[str, str], password: str = PASSWORD) -> None:
    await service.runtime.deps.run(
        handlers.create_user,
        by=Principal(subject="test-setup", grants=()),
        username=username,
        password=password,
        grants=[Grant(role=r, scope=s) for r, s in grants],
    )


async def login(service, username: str, password: str = PASSWORD):
    return await service.client.post("/auth/token", data={"username": username, "password": password})
