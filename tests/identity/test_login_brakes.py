"""The brakes in front of argon2: bounded input, rate limits per client and overall, and a lockout that
locks only the guesser's own (username, client address) pair, on real time."""

import asyncio
import time

import httpx
from sqlalchemy import func, select

from services.identity import handlers
from shared.audit import audit_log
from tests.identity.conftest import PASSWORD, add_user, login, start_identity


def _client_at(service, address: str) -> httpx.AsyncClient:
    """The service as seen from another client address."""
    transport = httpx.ASGITransport(app=service.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity")


async def _login_from(client, username: str, password: str = PASSWORD):
    return await client.post("/auth/token", data={"username": username, "password": password})


def _count_hashing(monkeypatch) -> list:
    checks = []
    real = handlers.verify_password

    async def counting(password_hash, password):
        checks.append(password_hash)
        return await real(password_hash, password)

    monkeypatch.setattr(handlers, "verify_password", counting)
    return checks


async def _audit_rows(service) -> int:
    async with service.runtime.sessions() as session:
        return (await session.execute(select(func.count()).select_from(audit_log))).scalar_one()


async def test_an_overlong_username_or_password_is_refused_before_any_hashing(identity, monkeypatch):
    await add_user(identity, "sokha", ("provincial_wg", "14"))
    checks = _count_hashing(monkeypatch)
    rows = await _audit_rows(identity)

    long_name = await login(identity, "s" * 65)
    long_password = await login(identity, "sokha", "p" * 1025)

    assert long_name.status_code == long_password.status_code == 422
    assert long_name.json()["detail"][0]["loc"] == ["body", "username"]
    assert long_password.json()["detail"][0]["loc"] == ["body", "password"]
    assert checks == []
    assert await _audit_rows(identity) == rows  # no failure counted, nothing stored
    assert (await login(identity, "sokha", PASSWORD)).status_code == 200  # 64 and 1024 would be read


async def test_one_client_is_limited_before_argon2_runs_and_told_when_to_retry(quiet_stack, monkeypatch):
    identity = await start_identity(quiet_stack, login_rate_per_client="3/minute", max_failed_logins=100)
    await add_user(identity, "dara", ("checkpoint_officer", "KH-TH-01"))
    checks = _count_hashing(monkeypatch)
    for _ in range(3):
        assert (await login(identity, "dara", "guess-guess")).status_code == 401

    limited = await login(identity, "dara", PASSWORD)

    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert len(checks) == 3  # the fourth attempt cost no hashing
    other = _client_at(identity, "10.1.2.3")
    assert (await _login_from(other, "dara")).status_code == 200  # another tablet is not held back
    await other.aclose()


async def test_all_clients_together_are_limited(quiet_stack):
    identity = await start_identity(quiet_stack, login_rate_global="4/minute")
    await add_user(identity, "vanna", ("commune_chief", "140101"))
    clients = [_client_at(identity, f"10.0.0.{i}") for i in range(5)]
    answers = [(await _login_from(c, "vanna", "guess-guess")).status_code for c in clients]

    assert answers == [401, 401, 401, 401, 429]
    for c in clients:
        await c.aclose()


async def test_an_outsiders_failures_do_not_lock_the_officer_out(identity):
    await add_user(identity, "rithy", ("commune_chief", "140101"))
    outsider = _client_at(identity, "203.0.113.9")
    for _ in range(5):  # max_failed_logins=3 in the fixture
        assert (await _login_from(outsider, "rithy", "guess-guess")).status_code == 401

    assert (await _login_from(outsider, "rithy")).status_code == 401  # the guesser's pair is locked
    assert (await login(identity, "rithy")).status_code == 200  # the officer's tablet is not
    await outsider.aclose()


async def test_a_lock_runs_on_real_time_not_on_the_demo_clock(quiet_stack):
    # 1.2 s of real time; at 1000x the demo clock passes 20 minutes in that time, more than the lockout.
    identity = await start_identity(quiet_stack, clock_speed=1000, lockout_minutes=0.02)
    await add_user(identity, "bopha", ("provincial_wg", "14"))
    for _ in range(3):
        await login(identity, "bopha", "guess-guess")
    started = time.monotonic()

    await asyncio.sleep(0.3)  # 5 demo minutes
    assert (await login(identity, "bopha")).status_code == 401

    await asyncio.sleep(max(0.0, 1.3 - (time.monotonic() - started)))
    assert (await login(identity, "bopha")).status_code == 200
