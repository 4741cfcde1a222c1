"""The user commands of `border-identity`: create-user, reset-password, seed-demo."""

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.identity import handlers
from services.identity.domain import DEMO_USERS, InvalidGrant, parse_grant
from services.identity.settings import Settings
from shared.errors import DomainError
from shared.geo.gazetteer import load_gazetteer
from shared.migrations import upgrade
from shared.unit_of_work import UseCase, standalone
from shared.web.auth import Grant, Principal

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
console = Console()


def _operator() -> Principal:
    """Who ran the command, for the audit trail: the operating-system account."""
    try:
        return Principal(subject=f"cli:{getpass.getuser()}", grants=())
    except (KeyError, OSError):
        return Principal(subject="cli", grants=())


def _run(settings: Settings, use_case: UseCase[T], **arguments: Any) -> T:
    """Run one use case against the service's database; a refusal ends the command with exit code 1."""

    async def main() -> T:
        async with standalone(settings) as deps:
            return await deps.run(use_case, **arguments)

    try:
        return asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]refused:[/red] {exc.detail}")
        raise typer.Exit(1) from None


def _grants(texts: list[str]) -> list[Grant]:
    gazetteer = load_gazetteer()
    try:
        return [parse_grant(text, gazetteer) for text in texts]
    except InvalidGrant as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")]


def create_user(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="ROLE:SCOPE, e.g. provincial_wg:14; repeatable.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user holding one or more roles, each with its scope."""
    grants = _grants(role)
    password = _new_password(password_stdin)
    _run(
        Settings(), handlers.create_user, by=_operator(), username=username, password=password, grants=grants
    )
    console.print(f"user {username} created: {', '.join(f'{g.role.value}:{g.scope}' for g in grants)}")


def reset_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Give a user a new password and lift any lockout."""
    password = _new_password(password_stdin)
    _run(Settings(), handlers.reset_password, by=_operator(), username=username, password=password)
    console.print(f"password of {username} reset")


def deactivate(username: str) -> None:
    """Close a user's account: no more logins, and the tokens they hold are refused within a minute."""
    _run(Settings(), handlers.deactivate_user, by=_operator(), username=username)
    console.print(f"user {username} deactivated")


def set_grants(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="ROLE:SCOPE, e.g. provincial_wg:14; repeatable.")],
) -> None:
    """Replace a user's grants; tokens with the old ones are refused within a minute."""
    grants = _grants(role)
    _run(Settings(), handlers.set_grants, by=_operator(), username=username, grants=grants)
    console.print(f"user {username} now holds: {', '.join(f'{g.role.value}:{g.scope}' for g in grants)}")


def seed_demo() -> None:
    """Create (or restore) one demo user per role for the local run, and print them."""
    settings = Settings()
    if settings.environment == "prod":
        console.print("[red]refused:[/red] demo users are never created when BORDER_ENV=prod")
        raise typer.Exit(1)
    upgrade(MIGRATIONS, settings.database_url)  # the local run seeds a fresh file
    gazetteer = load_gazetteer()
    _run(
        settings,
        handlers.seed_demo_users,
        by=_operator(),
        password=settings.demo_password,
        grants_of=lambda text: parse_grant(text, gazetteer),
    )
    rows = [(d.username, settings.demo_password, " ".join(d.grants), d.what) for d in DEMO_USERS]
    table = Table(title="Demo users (local run only)")
    for i, column in enumerate(("username", "password", "role:scope")):
        # What must be typed is never cut short; the description wraps instead.
        table.add_column(column, no_wrap=True, min_width=max(len(row[i]) for row in rows))
    table.add_column("who", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def add_user_commands(cli: typer.Typer) -> None:
    """Add the user commands to the service's `serve`/`migrate` CLI."""
    cli.command("create-user")(create_user)
    cli.command("reset-password")(reset_password)
    cli.command("deactivate")(deactivate)
    cli.command("set-grants")(set_grants)
    cli.command("seed-demo")(seed_demo)
