"""Registrations kept on paper or in spreadsheets during a surge, imported as if typed at a tablet.

Each household is one registration through `handlers.register_many` (the validation, duplicate hints, events
and audit of a tablet's registration), 200 households a transaction: a bad row spoils only its household.
Ids are derived from the checkpoint and the person's fields, so importing the same file again finds every
registration already there and creates nothing.
"""

import asyncio
import csv
import io
import itertools
import json
import logging
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from services.intake import domain, handlers
from services.intake.expected import check_checkpoint
from services.intake.models import ImportJob, ImportJobOut, RegistrationIn
from services.intake.settings import Settings
from shared.clock import CAMBODIA
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.unit_of_work import Deps
from shared.web.auth import Grant, Principal, Role

log = logging.getLogger(__name__)

# One row per person; a household is consecutive rows with the same `household` value, its head first.
COLUMNS = (
    "household",
    "name_km",
    "name_latin",
    "sex",
    "date_of_birth",
    "age_years",
    "phone",
    "id_doc_type",
    "id_doc_number",
    "home_village_code",
    "arrived_at",
    "temperature_c",
    "symptoms",
    "test_result",
    "special_care",
    "needs",
    "worked_in",
    "migration_status",
    "consent",
)
LISTS = ("symptoms", "special_care", "needs")
SCREENING = ("temperature_c", "symptoms", "test_result")
HEAD_ONLY = ("home_village_code", "arrived_at")  # members take the head's
YES = {"yes", "y", "true", "1", "x", "បាទ", "ចាស", "បាទ/ចាស"}
# Fixed for ever: the ids of rows imported once must come out the same at every later import.
NAMESPACE = uuid.UUID("6c1b9f0e-1007-4b7d-9a55-2a6e1f0c1007")


@dataclass
class Household:
    lines: list[int]
    rows: list[dict[str, str]]


@dataclass
class Outcome:
    created: int = 0  # people newly registered
    already: int = 0  # people a previous import (or an earlier row) registered
    rejected: list[tuple[list[int], str]] = field(default_factory=list)  # (lines, reason)


def read_rows(source: Path | BinaryIO, name: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV or XLSX file (a path, or an upload's file and its name), streamed: a
    100,000-row file is never held in memory whole. Headers are matched in lower case."""
    name = name or str(source)
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(source, read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"not a readable XLSX file: {exc}") from exc
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            header = [str(h or "").strip().lower() for h in next(rows, ())]
            for line, values in enumerate(rows, start=2):
                cells = {h: _text(v) for h, v in zip(header, values, strict=False) if h}
                if any(cells.values()):
                    yield line, cells
        finally:
            book.close()
        return
    with (
        source.open(newline="", encoding="utf-8-sig")
        if isinstance(source, Path)
        else io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    ) as f:
        reader = csv.DictReader(f)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or ()]
        for row in reader:
            cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str) and k}
            if any(cells.values()):
                yield reader.line_num, cells


def _text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):  # a date or datetime cell
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def households(rows: Iterable[tuple[int, dict[str, str]]]) -> Iterator[Household]:
    """Consecutive rows sharing a non-empty `household` value form one household; others stand alone."""
    for _, group in itertools.groupby(rows, key=lambda lr: lr[1].get("household") or object()):
        group = list(group)
        yield Household([line for line, _ in group], [row for _, row in group])


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.replace(",", ";").split(";") if item.strip()]


def _arrival(text: str) -> str:
    """A time written without its zone is Cambodia's (UTC+7), as on the paper form."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text  # the model names the field
    return (when if when.tzinfo else when.replace(tzinfo=CAMBODIA)).isoformat()


def _person(row: dict[str, str]) -> dict:
    person = {k: v for k, v in row.items() if k in COLUMNS and k != "household" and v and k not in SCREENING}
    for name in LISTS:
        if name in person:
            person[name] = _items(person[name])
    if "arrived_at" in person:
        person["arrived_at"] = _arrival(person["arrived_at"])
    person["consent"] = row.get("consent", "").strip().lower() in YES
    screening = {k: row[k] for k in SCREENING if row.get(k)}
    if "symptoms" in screening:
        screening["symptoms"] = _items(screening["symptoms"])
    person["screening"] = screening
    return person


def _id(checkpoint_id: str, person: dict, head: dict | None) -> uuid.UUID:
    where = {k: (head or person).get(k) for k in HEAD_ONLY}
    return uuid.uuid5(
        NAMESPACE, json.dumps([checkpoint_id, person, where], sort_keys=True, ensure_ascii=False)
    )


def registration(household: Household, checkpoint_id: str) -> RegistrationIn:
    """The household as the tablet would have sent it; ValidationError or Invalid names the row's field."""
    head, *others = (_person(row) for row in household.rows)
    if "arrived_at" not in head:  # a paper record's arrival is not the time of its import
        raise Invalid(("body", "arrived_at"), "the arrival time is required in an import")
    members = []
    for member in others:
        members.append(
            {
                **{k: v for k, v in member.items() if k not in HEAD_ONLY},
                "id": _id(checkpoint_id, member, head),
            }
        )
    return RegistrationIn.model_validate(
        {**head, "id": _id(checkpoint_id, head, None), "checkpoint_id": checkpoint_id, "members": members}
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
    if isinstance(exc, Invalid):
        return f"{'.'.join(map(str, exc.loc[1:]))}: {exc.message}"
    return str(getattr(exc, "detail", exc))


def check_arrival(deps: Deps[Settings], request: RegistrationIn) -> None:
    settings = deps.settings
    domain.check_arrival(
        arrived_at=request.arrived_at,
        now=deps.clock.now(),
        skew=timedelta(minutes=settings.clock_skew_minutes),
        max_age=timedelta(days=settings.max_offline_days),
    )


def importer(checkpoint_id: str, officer: str) -> Principal:
    """Who the audit trail and the events name: the officer who ran the import, at the checkpoint."""
    return Principal(
        subject=f"import:{officer}", grants=(Grant(role=Role.checkpoint_officer, scope=checkpoint_id),)
    )


# Households per transaction, each batch's reads and writes a few statements for all of them.
BATCH = 200


def _batches(groups: Iterable[Household]) -> Iterator[list[Household]]:
    groups = iter(groups)
    while batch := list(itertools.islice(groups, BATCH)):
        yield batch


async def _register_batch(
    uow, *, batch: list[Household], checkpoint_id: str, principal: Principal, outcome: Outcome
) -> None:
    requests, accepted = [], []
    for group in batch:
        try:
            requests.append(registration(group, checkpoint_id))
            accepted.append(group)
        except (ValidationError, DomainError) as exc:
            outcome.rejected.append((group.lines, _reason(exc)))
    answers = await handlers.register_many(
        uow, principal=principal, requests=requests, correlate_households=True
    )
    for group, answer in zip(accepted, answers, strict=True):
        if isinstance(answer, DomainError):
            outcome.rejected.append((group.lines, _reason(answer)))
        elif answer[1]:
            outcome.created += len(group.rows)
        else:
            outcome.already += len(group.rows)
    outcome.rejected.sort(key=lambda rejected: rejected[0][0])  # in the file's order, whoever refused


async def import_households(
    deps: Deps[Settings],
    groups: Iterable[Household],
    *,
    checkpoint_id: str,
    officer: str,
    dry_run: bool = False,
    progress=lambda people: None,
    after_batch: Callable[[Outcome], Awaitable[None]] | None = None,
) -> Outcome:
    """Register every household, BATCH of them per transaction; with `dry_run`, only check the rows."""
    outcome, principal = Outcome(), importer(checkpoint_id, officer)
    for batch in _batches(groups):
        if dry_run:
            for group in batch:
                try:
                    check_arrival(deps, registration(group, checkpoint_id))
                except (ValidationError, DomainError) as exc:
                    outcome.rejected.append((group.lines, _reason(exc)))
        else:
            # The counts of a batch are taken only once it committed.
            counted = Outcome()
            await deps.run(
                _register_batch,
                batch=batch,
                checkpoint_id=checkpoint_id,
                principal=principal,
                outcome=counted,
            )
            outcome.created += counted.created
            outcome.already += counted.already
            outcome.rejected += counted.rejected
        progress(sum(len(g.rows) for g in batch))
        if after_batch:
            await after_batch(outcome)
    return outcome


# --- the same from the web: a job in the background, its progress in the database ----------------------

KEPT_REJECTS = 1000  # refused households listed on the job; the counts go on
_RUNNING: set[asyncio.Task] = set()  # strong references: a task nobody holds may be collected mid-import


async def start_job(uow, *, principal: Principal, checkpoint_id: str, filename: str) -> ImportJobOut:
    check_checkpoint(principal, checkpoint_id)
    job = ImportJob(
        id=uuid.uuid4(),
        checkpoint_id=checkpoint_id,
        filename=filename[:200],
        started_by=principal.subject,
        started_at=uow.now(),
        rejected=[],
    )
    uow.session.add(job)
    return ImportJobOut.model_validate(job, from_attributes=True)


async def get_job(uow, *, principal: Principal, job_id: uuid.UUID) -> ImportJobOut:
    job = await uow.session.get(ImportJob, job_id)
    try:
        if job is None:
            raise NotFound("import not found")
        check_checkpoint(principal, job.checkpoint_id)
    except Forbidden:
        raise NotFound("import not found") from None  # another checkpoint's: as if there were none
    return ImportJobOut.model_validate(job, from_attributes=True)


async def _record(
    uow, *, job_id: uuid.UUID, outcome: Outcome, state: str | None = None, error: str | None = None
):
    job = await uow.session.get(ImportJob, job_id)
    job.created, job.already = outcome.created, outcome.already
    job.rejected = [{"lines": lines, "reason": reason} for lines, reason in outcome.rejected[:KEPT_REJECTS]]
    if state:
        job.state, job.finished_at, job.error = state, uow.now(), error


def run_in_background(deps: Deps[Settings], *, job: ImportJobOut, path: Path, officer: str) -> None:
    task = asyncio.create_task(_run(deps, job=job, path=path, officer=officer), name=f"import-{job.id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def _run(deps: Deps[Settings], *, job: ImportJobOut, path: Path, officer: str) -> None:
    outcome = Outcome()

    async def step(progress: Outcome) -> None:
        nonlocal outcome
        outcome = progress
        await deps.run(_record, job_id=job.id, outcome=progress)

    try:
        groups = households(read_rows(path, job.filename))
        outcome = await import_households(
            deps, groups, checkpoint_id=job.checkpoint_id, officer=officer, after_batch=step
        )
        await deps.run(_record, job_id=job.id, outcome=outcome, state="done")
    except (ValueError, UnicodeDecodeError) as exc:
        await deps.run(
            _record, job_id=job.id, outcome=outcome, state="failed", error=f"not a readable file: {exc}"[:300]
        )
    except asyncio.CancelledError:
        # The service stopped mid-import: what committed stays, and a new upload of the file skips it.
        await deps.run(_record, job_id=job.id, outcome=outcome, state="failed", error="stopped by a restart")
        raise
    except Exception:
        log.exception("import failed", extra={"job": str(job.id)})
        await deps.run(
            _record, job_id=job.id, outcome=outcome, state="failed", error="failed: see the service log"
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
