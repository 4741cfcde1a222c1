"""The console entry points: every service's `serve` and `migrate`, and `border-topics`."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import typer
import uvicorn
from fastapi import FastAPI

from shared.messaging.admin import ensure_topics
from shared.migrations import upgrade
from shared.settings import ServiceSettings


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

    return cli


def _create_topics(bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS")) -> None:
    """Create the system's topics and their .dlq twins on the broker."""
    created = asyncio.run(ensure_topics(bootstrap))
    typer.echo(f"topics ready ({len(created)} created)")


def topics() -> None:
    typer.run(_create_topics)
