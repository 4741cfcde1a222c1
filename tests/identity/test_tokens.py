"""The OAuth2 password flow, and what a protected route does with good and bad tokens."""

import asyncio
import base64
import json
import time
from datetime import timedelta

import jwt

from services.identity.keys import generate_pem
from shared.web.auth import Grant, Role, TokenConfig, issue_token, verify_token
from tests.conftest import TEST_TOKENS, bearer
from tests.identity.conftest import PASSWORD, add_user, login, start_identity


async def test_a_good_login_gives_a_token_that_services_accept(identity):
    await add_user(identity, "sokha", ("provincial_wg", "14"), ("district_officer", "0102"))

    r = await login(identity, "sokha")

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 8 * 3600
    assert r.headers["cache-control"] == "no-store"
    principal = verify_token(TEST_TOKENS, body["access_token"])
    assert principal.subject == "sokha"
    assert set(principal.grants) == {
        Grant(role=Role.provincial_wg, scope="14"),
        Grant(role=Role.district_officer, scope="0102"),
    }
    assert (await login(identity, " Sokha ")).status_code == 200  # as typed on a tablet's keyboard
    me = await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["subject"] == "sokha"


async def test_wrong_password_and_unknown_user_get_the_same_401(identity):
    await add_user(identity, "dara", ("checkpoint_officer", "KH-TH-01"))

    wrong = await login(identity, "dara", "not the password")
    unknown = await login(identity, "nobody", PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "invalid username or password"}
    assert "access_token" not in wrong.text


async def test_a_login_without_a_password_is_refused_naming_the_field(identity):
    r = await identity.client.post("/auth/token", data={"username": "dara"})
    assert r.status_code == 422
    assert any(e["loc"][-1] == "password" for e in r.json()["detail"])


async def test_repeated_failures_lock_the_account_until_the_lockout_passes(quiet_stack):
    identity = await start_identity(quiet_stack, lockout_minutes=0.02)  # 1.2 s
    await add_user(identity, "vanna", ("commune_chief", "140101"))
    for _ in range(3):  # max_failed_logins=3 in the fixture
        assert (await login(identity, "vanna", "guess-guess")).status_code == 401

    locked = await login(identity, "vanna")  # the right password, during the lock
    assert locked.status_code == 401
    assert locked.json() == {"detail": "invalid username or password"}

    identity.runtime.clock.advance(timedelta(minutes=16))  # the demo clock does not end a lock
    assert (await login(identity, "vanna")).status_code == 401
    await asyncio.sleep(1.3)
    assert (await login(identity, "vanna")).status_code == 200


async def test_a_success_resets_the_failure_count(identity):
    await add_user(identity, "rithy", ("commune_chief", "140101"))
    for _ in range(2):
        await login(identity, "rithy", "guess-guess")
    assert (await login(identity, "rithy")).status_code == 200
    for _ in range(2):
        await login(identity, "rithy", "guess-guess")
    assert (await login(identity, "rithy")).status_code == 200


def _tampered(token: str) -> str:
    """The same signature over a payload that now claims the national administrator."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = [{"role": "national_admin", "scope": "KH"}]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned() -> str:
    claims = {"iss": "border-return", "aud": "border-return", "sub": "x", "iat": 1, "exp": 4102444800}
    claims["roles"] = [{"role": "national_admin", "scope": "KH"}]
    return jwt.encode(claims, key=None, algorithm="none")


def _token(config: TokenConfig, ttl=timedelta(minutes=5)) -> str:
    return issue_token(config, "tester", [Grant(role=Role.national_admin, scope="KH")], ttl)


BAD_TOKENS = {
    "expired": lambda: _token(TEST_TOKENS, ttl=timedelta(minutes=-5)),
    "tampered": lambda: _tampered(_token(TEST_TOKENS)),
    "wrong audience": lambda: _token(TokenConfig("border-return", "someone-else", TEST_TOKENS.key)),
    "wrong issuer": lambda: _token(TokenConfig("evil-issuer", "border-return", TEST_TOKENS.key)),
    "wrong key": lambda: _token(TokenConfig("border-return", "border-return", generate_pem())),
    "unsigned (alg none)": _unsigned,
    "not a token": lambda: "not-a-jwt",
}


async def test_bad_or_missing_tokens_get_401_on_protected_routes(identity):
    for path in ("/auth/me", "/audit"):
        missing = await identity.client.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        for case, make in BAD_TOKENS.items():
            r = await identity.client.get(path, headers={"Authorization": f"Bearer {make()}"})
            assert r.status_code == 401, f"{case} on {path}: {r.status_code}"
    # The same national-admin grant, properly signed, passes: the cases above failed for their flaw.
    good = await identity.client.get("/audit", headers={"Authorization": f"Bearer {_token(TEST_TOKENS)}"})
    assert good.status_code == 200


async def test_a_valid_token_without_the_role_gets_403(identity):
    for role, scope in [
        ("provincial_wg", "14"),
        ("checkpoint_officer", "KH-TH-01"),
        ("commune_chief", "140101"),
    ]:
        r = await identity.client.get("/audit", headers=bearer((role, scope)))
        assert r.status_code == 403, role
    assert (
        await identity.client.get("/auth/me", headers=bearer(("commune_chief", "140101")))
    ).status_code == 200


async def test_pages_of_the_other_services_may_call_the_issuer_but_others_may_not(identity):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ours = await identity.client.options(
        "/auth/token", headers={"Origin": "http://127.0.0.1:8001", **preflight}
    )
    theirs = await identity.client.options(
        "/auth/token", headers={"Origin": "http://evil.example", **preflight}
    )

    assert ours.status_code == 200
    assert ours.headers["access-control-allow-origin"] == "http://127.0.0.1:8001"
    assert "access-control-allow-origin" not in theirs.headers


async def test_every_failed_login_waits_the_configured_delay(quiet_stack):
    identity = await start_identity(quiet_stack, failed_login_delay_seconds=0.4)
    await add_user(identity, "sophal", ("provincial_wg", "14"))

    for username, password in [("sophal", "not the password"), ("nobody", PASSWORD)]:
        started = time.monotonic()
        r = await login(identity, username, password)
        assert r.status_code == 401
        assert time.monotonic() - started >= 0.4, username
