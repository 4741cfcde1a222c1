"""Console commands of `border-notify` beside serve/migrate: importing contacts and seeding demo ones."""

import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import track
from rich.table import Table as RichTable

from services.notify.domain import level_of
from services.notify.gateways import check_webhook_target
from services.notify.handlers import save_contact, seed_contacts
from services.notify.models import ContactIn
from services.notify.settings import Settings
from shared.geo.gazetteer import Gazetteer, load_gazetteer
from shared.migrations import upgrade
from shared.unit_of_work import standalone

COLUMNS = ("area_code", "name", "phone", "language", "webhook_url")


@dataclass
class Rejected:
    line: int
    area_code: str
    reason: str


def _area_error(area_code: str, gaz: Gazetteer) -> str | None:
    try:
        level_of(area_code)  # the format: 2, 4 or 6 digits
    except ValueError as exc:
        return str(exc)
    return None if gaz.area(area_code) else "area_code: not in the gazetteer"


def _field_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


async def validate_row(row: dict, gaz: Gazetteer, settings: Settings) -> tuple[str, ContactIn]:
    """The row as a contact, or ValueError naming the field that is wrong."""
    area_code = (row.get("area_code") or "").strip()
    if error := _area_error(area_code, gaz):
        raise ValueError(error)
    data = {k: (row.get(k) or "").strip() or None for k in COLUMNS[1:]}
    data["language"] = data["language"] or "km"
    try:
        contact = ContactIn.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise ValueError(_field_errors(exc)) from exc
    if contact.webhook_url:
        try:
            await check_webhook_target(contact.webhook_url, settings)
        except ValueError as exc:
            raise ValueError(f"webhook_url: {exc}") from exc
    return area_code, contact


async def import_contacts(settings: Settings, path: Path, console: Console) -> tuple[int, list[Rejected]]:
    """Save every valid row (one transaction per row, so one bad row spoils nothing); report the others."""
    gaz = load_gazetteer()
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    saved, rejected = 0, []
    async with standalone(settings) as deps:
        for line, row in track(
            list(enumerate(rows, start=2)), description="Importing contacts", console=console
        ):
            try:
                area_code, contact = await validate_row(row, gaz, settings)
            except ValueError as exc:
                rejected.append(Rejected(line, (row.get("area_code") or "").strip(), str(exc)))
                continue
            await deps.run(save_contact, area_code=area_code, data=contact)
            saved += 1
    return saved, rejected


def demo_phone(kind: int, index: int) -> str:
    """Fake numbers: +8551200xxxxx for chiefs, +8551210xxxxx districts, +8551220xxxxx provinces."""
    return f"+85512{kind}{index:05d}"


def demo_contacts(gaz: Gazetteer) -> list[tuple[str, ContactIn]]:
    contacts = []
    provinces = gaz.provinces()
    districts = [d for p in provinces for d in gaz.districts_of(p.code)]
    communes = [c for d in districts for c in gaz.communes_of(d.code)]
    for kind, titles, units in (
        ("00", "មេឃុំ", communes),
        ("10", "អភិបាលស្រុក", districts),
        ("20", "ក្រុមការងារខេត្ត", provinces),
    ):
        for i, unit in enumerate(units):
            contact = ContactIn(
                name=f"{titles} {unit.name_km}", phone=demo_phone(int(kind), i), language="km"
            )
            contacts.append((unit.code, contact))
    return contacts


async def seed_demo(settings: Settings, console: Console) -> int:
    """Add a demo contact for every commune, district and province that has none; returns how many."""
    contacts = track(demo_contacts(load_gazetteer()), description="Seeding demo contacts", console=console)
    async with standalone(settings) as deps:
        return await deps.run(seed_contacts, contacts=contacts)


def _report(console: Console, rejected: list[Rejected]) -> None:
    table = RichTable(title=f"Rejected rows ({len(rejected)})")
    for column in ("line", "area_code", "reason"):
        table.add_column(column)
    for r in rejected:
        table.add_row(str(r.line), r.area_code, r.reason)
    console.print(table)


def add_commands(app: typer.Typer, settings_cls: type[Settings], migrations: Path) -> None:
    @app.command("import-contacts")
    def import_contacts_cmd(
        csv_path: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help="CSV with columns " + ",".join(COLUMNS))
        ],
        rejects: Annotated[
            Path | None, typer.Option(help="Also write the rejected rows to this CSV.")
        ] = None,
    ) -> None:
        """Import commune, district and province contacts from a CSV; rows that fail are reported."""
        settings, console = settings_cls(), Console()
        upgrade(migrations, settings.database_url)
        saved, rejected = asyncio.run(import_contacts(settings, csv_path, console))
        console.print(f"{saved} contacts saved, {len(rejected)} rows rejected")
        if rejected:
            _report(console, rejected)
            if rejects:
                with rejects.open("w", newline="", encoding="utf-8") as f:
                    writer = csv.writer(f)
                    writer.writerow(["line", "area_code", "reason"])
                    writer.writerows((r.line, r.area_code, r.reason) for r in rejected)
            raise typer.Exit(1)

    @app.command("seed-demo")
    def seed_demo_cmd() -> None:
        """Give every commune, district and province a demo contact with a fake phone (idempotent)."""
        settings, console = settings_cls(), Console()
        upgrade(migrations, settings.database_url)
        added = asyncio.run(seed_demo(settings, console))
        console.print(f"{added} demo contacts added")
