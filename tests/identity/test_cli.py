"""The `border-identity` commands, run through typer against the service's fresh database."""

import asyncio

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from services.identity.main import run
from services.identity.models import User
from shared.errors import Invalid
from shared.web.auth import verify_token
from tests.conftest import PROD, TEST_PUBLIC_KEY, TEST_SIGNING_KEY, TEST_TOKENS, bearer
from tests.identity.conftest import add_user, login

DEMO_PASSWORD = "the-demo-password-of-this-test"  # the run command generates the real one


async def cli(service, *args: str, input: str | None = None):
    """Invoke the CLI in a thread (it runs its own event loop) with the service's database."""
    env = {
        "IDENTITY_DATABASE_URL": service.database_url,
        "BORDER_ENV": "test",
        "IDENTITY_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    return await asyncio.to_thread(CliRunner().invoke, run, list(args), input=input, env=env)


async def count_users(service) -> int:
    async with service.runtime.sessions() as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


async def test_create_user_then_log_in_then_reset_the_password(identity):
    created = await cli(
        identity,
        *("create-user", "bopha", "--role", "checkpoint_officer:KH-TH-01", "--role", "provincial_wg:01"),
        "--password-stdin",
        input="first-password-1\n",
    )
    assert created.exit_code == 0, created.output
    r = await login(identity, "bopha", "first-password-1")
    assert r.status_code == 200
    grants = {(g.role.value, g.scope) for g in verify_token(TEST_TOKENS, r.json()["access_token"]).grants}
    assert grants == {("checkpoint_officer", "KH-TH-01"), ("provincial_wg", "01")}

    reset = await cli(identity, "reset-password", "bopha", "--password-stdin", input="second-password-2\n")

    assert reset.exit_code == 0, reset.output
    assert (await login(identity, "bopha", "first-password-1")).status_code == 401
    assert (await login(identity, "bopha", "second-password-2")).status_code == 200
    trail = await identity.client.get(
        "/audit", params={"object_type": "user"}, headers=bearer(("national_admin", "KH"))
    )
    actions = [item["action"] for item in trail.json()["items"]]
    assert {"create", "reset_password", "login"} <= set(actions)
    assert all(i["subject"].startswith("cli") for i in trail.json()["items"] if i["action"] == "create")


async def test_reset_password_lifts_a_lockout(identity):
    await cli(
        identity,
        "create-user",
        "kosal",
        "--role",
        "commune_chief:140101",
        "--password-stdin",
        input="good-password-1\n",
    )
    for _ in range(3):
        await login(identity, "kosal", "guess-guess")
    assert (await login(identity, "kosal", "good-password-1")).status_code == 401

    await cli(identity, "reset-password", "kosal", "--password-stdin", input="good-password-2\n")

    assert (await login(identity, "kosal", "good-password-2")).status_code == 200


async def test_deactivate_and_set_grants_end_logins_and_old_tokens(identity):
    args = ("create-user", "chan", "--role", "provincial_wg:14", "--password-stdin")
    assert (await cli(identity, *args, input="long-enough-pw\n")).exit_code == 0

    regranted = await cli(identity, "set-grants", "chan", "--role", "district_officer:1401")
    refused = await cli(identity, "set-grants", "chan", "--role", "provincial_wg:1")

    assert regranted.exit_code == 0, regranted.output
    assert refused.exit_code == 2 and "not a valid scope" in " ".join(refused.output.split())
    r = await login(identity, "chan", "long-enough-pw")
    grants = verify_token(TEST_TOKENS, r.json()["access_token"]).grants
    assert {(g.role.value, g.scope) for g in grants} == {("district_officer", "1401")}

    deactivated = await cli(identity, "deactivate", "chan")

    assert deactivated.exit_code == 0, deactivated.output
    assert (await login(identity, "chan", "long-enough-pw")).status_code == 401
    assert (await cli(identity, "deactivate", "ghost")).exit_code == 1
    trail = await identity.client.get(
        "/audit", params={"object_type": "user"}, headers=bearer(("national_admin", "KH"))
    )
    assert {"set_grants", "deactivate"} <= {item["action"] for item in trail.json()["items"]}


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "says"),
    [
        (["create-user", "u1", "--role", "mayor:14"], "long-enough-pw\n", 2, "unknown role"),
        (["create-user", "u1", "--role", "commune_chief:99"], "long-enough-pw\n", 2, "not a valid scope"),
        (["create-user", "u1", "--role", "provincial_wg:1401"], "long-enough-pw\n", 2, "not a valid scope"),
        (["create-user", "u1", "--role", "transport_officer:14"], "long-enough-pw\n", 2, "not a valid scope"),
        (
            ["create-user", "u1", "--role", "checkpoint_officer:KH-XX-99"],
            "long-enough-pw\n",
            2,
            "valid scope",
        ),
        (["create-user", "u1", "--role", "provincial_wg:14"], "short\n", 1, "password: at least"),
        (["create-user", "Bad Name", "--role", "provincial_wg:14"], "long-enough-pw\n", 1, "username:"),
        (["create-user", "u1"], "long-enough-pw\n", 2, "--role"),
        (["reset-password", "ghost"], "long-enough-pw\n", 1, "no user ghost"),
    ],
)
async def test_the_cli_refuses_bad_input_and_stores_nothing(identity, args, stdin, exit_code, says):
    result = await cli(identity, *args, "--password-stdin", input=stdin)

    assert result.exit_code == exit_code, result.output
    assert says in " ".join(result.output.split())
    assert await count_users(identity) == 0


async def test_a_taken_username_is_refused(identity):
    args = ("create-user", "srey", "--role", "provincial_wg:14", "--password-stdin")
    assert (await cli(identity, *args, input="long-enough-pw\n")).exit_code == 0

    again = await cli(identity, *args, input="another-password\n")

    assert again.exit_code == 1
    assert "already taken" in again.output
    assert (await login(identity, "srey", "long-enough-pw")).status_code == 200


async def test_seed_demo_creates_one_user_per_role_and_can_run_again(identity):
    first = await cli(identity, "seed-demo")
    assert first.exit_code == 0, first.output
    await cli(identity, "reset-password", "pwg.preyveng", "--password-stdin", input="changed-by-someone\n")

    second = await cli(identity, "seed-demo")

    assert second.exit_code == 0, second.output
    assert "national.admin" in second.output and DEMO_PASSWORD in second.output
    assert await count_users(identity) == 8
    r = await login(identity, "pwg.preyveng", DEMO_PASSWORD)
    roles = {g.role.value for g in verify_token(TEST_TOKENS, r.json()["access_token"]).grants}
    assert roles == {"provincial_wg"}
    for username in ("checkpoint.poipet", "facility.poipet", "transport.bmc", "district.baphnum"):
        assert (await login(identity, username, DEMO_PASSWORD)).status_code == 200, username


async def test_seed_demo_refuses_to_run_in_production(identity):
    env = {
        "IDENTITY_DATABASE_URL": identity.database_url,
        # Settings production accepts, so the refusal is seed-demo's own.
        "BORDER_ENV": "prod",
        "IDENTITY_SIGNING_KEY": TEST_SIGNING_KEY.private_pem,
        "JWT_KEY": TEST_PUBLIC_KEY,
        "METRICS_TOKEN": PROD["metrics_token"],
        "JWT_REVOCATIONS_URL": PROD["jwt_revocations_url"],
    }
    result = await asyncio.to_thread(CliRunner().invoke, run, ["seed-demo"], env=env)

    assert result.exit_code == 1
    assert "never created when BORDER_ENV=prod" in result.output
    assert await count_users(identity) == 0


def test_seed_demo_works_on_the_local_runs_sqlite(tmp_path):
    env = {"IDENTITY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/identity.db", "BORDER_ENV": "dev"}

    first = CliRunner().invoke(run, ["seed-demo"], env=env)
    again = CliRunner().invoke(run, ["seed-demo"], env=env)
    reset = CliRunner().invoke(
        run, ["reset-password", "national.admin", "--password-stdin"], input="x" * 12, env=env
    )

    assert (first.exit_code, again.exit_code, reset.exit_code) == (0, 0, 0), first.output + again.output
    assert "commune.boengpreah" in again.output


async def test_the_use_case_itself_refuses_a_grant_that_does_not_fit(identity):
    with pytest.raises(Invalid, match="not a valid scope"):
        await add_user(identity, "sothea", ("provincial_wg", "1"))
    assert await count_users(identity) == 0
