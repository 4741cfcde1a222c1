"""Wiring of the intake service: the app factory and the console entry point `border-intake`."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from services.intake.api import router, tablet
from services.intake.consumer import subscriptions
from services.intake.settings import Settings
from shared.cli import service_cli
from shared.contracts.topics import all_specs
from shared.messaging.admin import ensure_topics
from shared.migrations import upgrade
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(
        settings,
        title="Intake: returnee registration at the border checkpoints",
        routers=[router, tablet],
        subscriptions=subscriptions,
    )
    # The gazetteer and the page travel over 3G: compress what is worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/tablet", StaticFiles(directory=STATIC, html=True), name="tablet")
    return app


run = service_cli(Settings, create_app, MIGRATIONS)


@run.command("seed-demo")
def seed_demo(
    count: int = typer.Option(60, help="About how many people to register."),
    seed: int = typer.Option(1007, help="Random seed, for a repeatable demo."),
) -> None:
    """Register made-up returnees (households, a few fevers) and publish their events."""
    from services.intake.demo import seed as seed_returnees

    settings = Settings()
    upgrade(MIGRATIONS, settings.database_url)

    async def go() -> int:
        await ensure_topics(settings.kafka_bootstrap_servers, all_specs(settings.topic_prefix))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            return await seed_returnees(app.state.runtime, count=count, seed=seed)

    typer.echo(f"{asyncio.run(go())} returnees registered")


@run.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX, one person a row.")],
    checkpoint: Annotated[str, typer.Option(help="The checkpoint they crossed at, e.g. KH-TH-01.")],
    officer: Annotated[str, typer.Option(help="Who imports: named in the audit trail as import:<officer>.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, register nothing.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Also write the rejected rows to this CSV.")] = None,
) -> None:
    """Register returnees kept on paper or in spreadsheets (columns: docs/intake.md). Importing a file
    again creates nothing new; the running intake service publishes the events."""
    import csv

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from services.intake.importing import households, import_households, read_rows
    from shared.geo.gazetteer import load_gazetteer
    from shared.unit_of_work import standalone

    if load_gazetteer().checkpoint(checkpoint) is None:
        raise typer.BadParameter(f"unknown checkpoint {checkpoint!r}", param_hint="--checkpoint")
    settings, console = Settings(), Console()
    upgrade(MIGRATIONS, settings.database_url)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} people"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("Checking" if dry_run else "Importing", total=None)

        async def go():
            async with standalone(settings) as deps:
                return await import_households(
                    deps,
                    households(read_rows(path)),
                    checkpoint_id=checkpoint,
                    officer=officer,
                    dry_run=dry_run,
                    progress=lambda people: progress.advance(task, people),
                )

        outcome = asyncio.run(go())
    if dry_run:
        checked = int(progress.tasks[0].completed)
        console.print(
            f"{checked} people checked, {len(outcome.rejected)} households rejected; nothing registered"
        )
    else:
        console.print(
            f"{outcome.created} people registered, {outcome.already} already registered, "
            f"{len(outcome.rejected)} households rejected"
        )
    if outcome.rejected:
        table = Table(title="Rejected rows")
        table.add_column("lines")
        table.add_column("reason")
        for lines, reason in outcome.rejected:
            table.add_row(" ".join(map(str, lines)), reason)
        console.print(table)
        if rejects:
            with rejects.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["lines", "reason"])
                writer.writerows((" ".join(map(str, lines)), reason) for lines, reason in outcome.rejected)
        raise typer.Exit(1)
