"""The console entry points: every service's `serve`, `migrate`, `outbox` and `dlq`, and `border-topics`."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.topics import DLQ_SUFFIX, all_specs
from shared.db import make_engine, make_sessionmaker
from shared.messaging import dlq, outbox
from shared.messaging.admin import ensure_topics
from shared.migrations import upgrade
from shared.settings import ServiceSettings
from shared.web.service import make_producer

T = TypeVar("T")


def service_cli(
    settings_cls: type[ServiceSettings], create_app: Callable[[ServiceSettings], FastAPI], migrations: Path
) -> typer.Typer:
    cli = typer.Typer(no_args_is_help=True, add_completion=False)

    @cli.command()
    def serve(migrate_first: bool = typer.Option(True, help="Run the migrations before serving.")) -> None:
        """Run the service's API, outbox relay and consumers."""
        settings = settings_cls()
        if migrate_first:
            upgrade(migrations, settings.database_url)
        # log_config=None keeps our JSON logging; backlog sized for Kannel's bursts of replies.
        uvicorn.run(
            create_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            backlog=2048,
        )

    @cli.command()
    def migrate() -> None:
        """Bring the service's database to the newest revision."""
        upgrade(migrations, settings_cls().database_url)
        typer.echo("database migrated")

    cli.add_typer(_outbox_cli(settings_cls), name="outbox")
    cli.add_typer(_dlq_cli(settings_cls), name="dlq")
    return cli


def _with_sessions(url: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _outbox_cli(settings_cls: type[ServiceSettings]) -> typer.Typer:
    cli = typer.Typer(no_args_is_help=True, help="Outbox rows the broker refused for good (parked).")

    @cli.command("parked")
    def list_parked(limit: int = typer.Option(100, help="Show at most this many, oldest first.")) -> None:
        """List the parked rows: where each was going and its size, never its content."""
        rows = _with_sessions(settings_cls().database_url, lambda s: outbox.parked(s, limit))
        if not rows:
            typer.echo("no parked rows")
            return
        table = Table("id", "event id", "type", "topic", "bytes", "written at")
        for r in rows:
            table.add_row(str(r.id), r.event_id, r.type, r.topic, str(r.size), r.created_at.isoformat())
        Console().print(table)

    @cli.command("release")
    def release(
        ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids from `outbox parked`.")] = None,
        all_rows: bool = typer.Option(False, "--all", help="Release every parked row."),
    ) -> None:
        """Give parked rows back to the relay, once the broker can take them (a row refused again is
        parked again)."""
        if bool(ids) == all_rows:
            raise typer.BadParameter("give outbox ids or --all")
        count = _with_sessions(settings_cls().database_url, lambda s: outbox.release(s, ids or None))
        typer.echo(f"{count} row(s) released")

    return cli


def _dlq_cli(settings_cls: type[ServiceSettings]) -> typer.Typer:
    cli = typer.Typer(no_args_is_help=True, help="Dead-lettered events.")

    @cli.command("replay")
    def replay(
        topic: Annotated[
            list[str] | None, typer.Option(help="Dead-letter topic(s); all of them by default.")
        ] = None,
        event_id: Annotated[str | None, typer.Option(help="Only the event with this CloudEvent id.")] = None,
        limit: Annotated[int | None, typer.Option(help="At most this many per topic, oldest first.")] = None,
        dry_run: Annotated[bool, typer.Option(help="List what would be replayed; send nothing.")] = False,
    ) -> None:
        """Send dead letters back to their original topic with their key, headers and event id: a consumer
        that handled one already skips it, so replaying twice is safe."""
        settings = settings_cls()
        topics = topic or [s.name for s in all_specs(settings.topic_prefix) if s.name.endswith(DLQ_SUFFIX)]
        bootstrap = settings.kafka_bootstrap_servers

        async def go() -> tuple[list, int]:
            found = [
                r
                for t in topics
                for r in await dlq.dead_letters(bootstrap, t, event_id=event_id, limit=limit)
            ]
            if dry_run or not found:
                return found, 0
            producer = make_producer(bootstrap)
            await producer.start()
            try:
                return found, await dlq.replay(producer, found)
            finally:
                await producer.stop()

        found, sent = asyncio.run(go())
        table = Table("dlq offset", "event id", "type", "from", "reason", "consumer")
        for r in found:
            table.add_row(*dlq.describe(r).values())
        Console().print(table)
        typer.echo(f"{len(found)} dead letter(s) found, {'none (dry run)' if dry_run else sent} replayed")

    return cli


def _create_topics(bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS")) -> None:
    """Create the system's topics and their .dlq twins on the broker."""
    created = asyncio.run(ensure_topics(bootstrap))
    typer.echo(f"topics ready ({len(created)} created)")


def topics() -> None:
    typer.run(_create_topics)
