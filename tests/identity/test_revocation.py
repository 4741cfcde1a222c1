"""Deactivation, a password reset and a grant change revoke the tokens a user holds: another service
refuses them within its refresh interval, not at their expiry."""

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from services.identity import handlers
from services.identity.models import User
from shared.web.auth import Grant, Principal, Role, verify_token
from shared.web.revocation import Revocations, subject_key
from tests.conftest import TEST_TOKENS
from tests.identity.conftest import PASSWORD, add_user, login, start_identity
from tests.waiting import wait_until

REFRESH = 0.3
ADMIN = Principal(subject="test-admin", grants=())


async def _stack(quiet_stack):
    """Identity, and quarantine verifying tokens against identity's revocations (through the ASGI client:
    the services of a test serve no port)."""
    url = "http://identity/auth/revocations"
    revocation = {"jwt_revocations_url": url, "jwt_revocations_refresh_seconds": REFRESH}
    identity = await start_identity(quiet_stack, **revocation)
    quarantine = await quiet_stack.start("quarantine", consumer_enabled=False, **revocation)
    for service in (identity, quarantine):
        service.app.state.revocations = Revocations(url, REFRESH, client=identity.client)
    return identity, quarantine


async def _token(identity, username: str, password: str = PASSWORD) -> str:
    r = await login(identity, username, password)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def _facilities(quarantine, token: str):
    return await quarantine.client.get("/facilities", headers={"Authorization": f"Bearer {token}"})


async def _refused_within_the_interval(quarantine, token: str) -> None:
    started = time.monotonic()
    r = await wait_until(
        lambda: _refused(quarantine, token), timeout=REFRESH + 2, what="the revoked token refused"
    )
    assert r.json() == {"detail": "token revoked"}
    assert time.monotonic() - started < REFRESH + 2


async def _refused(quarantine, token):
    r = await _facilities(quarantine, token)
    return r if r.status_code == 401 else None


async def test_a_deactivated_users_token_is_refused_within_the_refresh_interval(quiet_stack):
    identity, quarantine = await _stack(quiet_stack)
    await add_user(identity, "sokha", ("provincial_wg", "14"))
    token = await _token(identity, "sokha")
    assert (await _facilities(quarantine, token)).status_code == 200

    await identity.runtime.deps.run(handlers.deactivate_user, by=ADMIN, username="sokha")

    await _refused_within_the_interval(quarantine, token)
    assert (await login(identity, "sokha")).status_code == 401


async def test_a_password_reset_revokes_old_tokens_and_new_ones_work(quiet_stack):
    identity, quarantine = await _stack(quiet_stack)
    await add_user(identity, "dara", ("provincial_wg", "14"))
    old = await _token(identity, "dara")
    assert (await _facilities(quarantine, old)).status_code == 200

    await identity.runtime.deps.run(
        handlers.reset_password, by=ADMIN, username="dara", password="a-new-password-2"
    )

    await _refused_within_the_interval(quarantine, old)
    new = await _token(identity, "dara", "a-new-password-2")  # even within the second of the reset
    assert (await _facilities(quarantine, new)).status_code == 200
    assert (
        await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {old}"})
    ).status_code == 401


async def test_a_grant_change_revokes_tokens_with_the_old_grants(quiet_stack):
    identity, quarantine = await _stack(quiet_stack)
    await add_user(identity, "vanna", ("provincial_wg", "14"))
    old = await _token(identity, "vanna")
    assert (await _facilities(quarantine, old)).status_code == 200

    await identity.runtime.deps.run(
        handlers.set_grants, by=ADMIN, username="vanna", grants=[Grant(role=Role.provincial_wg, scope="02")]
    )

    await _refused_within_the_interval(quarantine, old)
    new = await _token(identity, "vanna")
    assert verify_token(TEST_TOKENS, new).grants == (Grant(role=Role.provincial_wg, scope="02"),)
    assert (await _facilities(quarantine, new)).status_code == 200


async def test_the_list_names_no_one_and_forgets_what_has_expired(quiet_stack):
    identity = await start_identity(quiet_stack, token_ttl_minutes=60)
    await add_user(identity, "bopha", ("provincial_wg", "14"))
    await add_user(identity, "kosal", ("provincial_wg", "14"))
    await add_user(identity, "rithy", ("provincial_wg", "14"))  # never revoked
    for username in ("bopha", "kosal"):
        await identity.runtime.deps.run(handlers.deactivate_user, by=ADMIN, username=username)
    async with identity.runtime.sessions.begin() as session:  # kosal's revocation is older than any token
        long_ago = datetime.now(UTC) - timedelta(minutes=61)
        await session.execute(
            update(User).where(User.username == "kosal").values(tokens_valid_after=long_ago)
        )

    r = await identity.client.get("/auth/revocations")

    assert r.status_code == 200
    assert set(r.json()["not_before"]) == {subject_key("bopha")}
    assert "bopha" not in r.text
    assert r.json()["not_before"][subject_key("bopha")] > time.time() - 5
