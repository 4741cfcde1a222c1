"""Expected arrivals: lists the Thai side sends ahead of a crossing, and their reconciliation with who came.

A list is stored whole or not at all; a source's column names are remembered, so its next list needs no
mapping. The tablet confirms a person of a list by registering them with `expected_id`
(handlers.register_many).
"""

import csv
import io
from datetime import date
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import exists, func, select

from services.intake.handlers import Uow
from services.intake.models import (
    ColumnMapping,
    ExpectedList,
    ExpectedListOut,
    ExpectedPerson,
    ExpectedPersonOut,
    Reconciliation,
    Registration,
)
from shared.audit import record_accesses
from shared.errors import Forbidden, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.i18n import text
from shared.web.auth import Principal, Role

# What a list may say of a person, under our names; a source maps its own column names onto these.
FIELDS = ("name_latin", "name_km", "sex", "age_years", "date_of_birth", "id_doc_number", "origin", "group")
MAX_PEOPLE = 5000
SEXES = {"m": "M", "male": "M", "ชาย": "M", "ប្រុស": "M", "f": "F", "female": "F", "หญิง": "F", "ស្រី": "F"}


def _blank(value):
    return None if isinstance(value, str) and not value.strip() else value


def _sex(value):
    return (
        SEXES.get(value.strip().lower(), value.strip()) if isinstance(value, str) and value.strip() else None
    )


def _text(length: int):
    return Annotated[Annotated[str, Field(max_length=length)] | None, BeforeValidator(_blank)]


class ExpectedRow(BaseModel):
    """One row of a list, as the Thai side writes it: names kept as given, nothing else required."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name_latin: _text(100) = None
    name_km: _text(100) = None
    sex: Annotated[Literal["M", "F", "X"] | None, BeforeValidator(_sex)] = None
    age_years: Annotated[Annotated[int, Field(ge=0, le=130)] | None, BeforeValidator(_blank)] = None
    date_of_birth: Annotated[date | None, BeforeValidator(_blank)] = None
    id_doc_number: _text(30) = None
    origin: _text(120) = None
    group: _text(60) = None

    @model_validator(mode="after")
    def _named(self):
        if not (self.name_latin or self.name_km):
            raise ValueError("a name is required, in Latin letters or in Khmer")
        return self


def parse(rows, mapping: dict[str, str]) -> tuple[list[tuple[int, ExpectedRow]], list[dict]]:
    """(line, person) for every row, and the problems in FastAPI's 422 shape (`loc`: the file's line and
    our field); a list with any problem is refused whole."""
    people, problems = [], []
    for line, cells in rows:
        values = {field: cells.get(mapping.get(field, field).strip().lower(), "") for field in FIELDS}
        try:
            people.append((line, ExpectedRow.model_validate(values)))
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                where = [str(p) for p in e["loc"]] or ["row"]
                problems.append({"loc": ["body", "file", line, *where], "msg": e["msg"], "type": e["type"]})
        if len(people) + len(problems) > MAX_PEOPLE:
            problems.append(
                {"loc": ["body", "file"], "msg": f"more than {MAX_PEOPLE} rows", "type": "too_long"}
            )
            break
    if not people and not problems:
        problems.append({"loc": ["body", "file"], "msg": "the list has no rows", "type": "missing"})
    return people, problems


def check_checkpoint(principal: Principal, checkpoint_id: str) -> None:
    """The checkpoint's officers, its province's working group and the nation keep and read its lists."""
    checkpoint = load_gazetteer().checkpoint(checkpoint_id)
    if checkpoint is None:
        raise NotFound("checkpoint not found")
    if checkpoint_id not in _visible(principal, [checkpoint_id]):
        raise Forbidden("checkpoint_id: not one of your checkpoints")


def _visible(principal: Principal, asked: list[str] | None = None) -> list[str]:
    """Of the checkpoints asked (all by default), those whose lists the caller keeps and reads."""
    gaz = load_gazetteer()
    checkpoints = [gaz.checkpoint(c) for c in asked] if asked else gaz.checkpoints()
    own, provinces = principal.scopes(Role.checkpoint_officer), principal.scopes(Role.provincial_wg)
    return [
        c.id
        for c in checkpoints
        if c and (principal.is_national or c.id in own or c.province_code in provinces)
    ]


def _where(principal: Principal, checkpoint_id: str | None) -> list[str]:
    if checkpoint_id is None:
        return _visible(principal)
    check_checkpoint(principal, checkpoint_id)
    return [checkpoint_id]


async def mapping_for(uow: Uow, *, source: str) -> dict[str, str]:
    stored = await uow.session.get(ColumnMapping, source)
    return dict(stored.mapping) if stored else {}


async def save_list(
    uow: Uow,
    *,
    principal: Principal,
    checkpoint_id: str,
    expected_on: date,
    source: str,
    filename: str,
    people: list[tuple[int, ExpectedRow]],
    mapping: dict[str, str] | None,
) -> ExpectedListOut:
    check_checkpoint(principal, checkpoint_id)
    now = uow.now()
    listed = ExpectedList(
        id=uuid4(),
        checkpoint_id=checkpoint_id,
        expected_on=expected_on,
        source=source,
        filename=filename[:200],
        uploaded_by=principal.subject,
        uploaded_at=now,
        people=len(people),
    )
    uow.session.add(listed)
    await uow.session.flush()
    uow.session.add_all(
        ExpectedPerson(
            id=uuid4(), list_id=listed.id, line=line, group_label=p.group, **p.model_dump(exclude={"group"})
        )
        for line, p in people
    )
    if mapping:
        stored = await uow.session.get(ColumnMapping, source)
        if stored is None:
            uow.session.add(ColumnMapping(source=source, mapping=mapping, updated_at=now))
        else:
            stored.mapping, stored.updated_at = mapping, now
    await record_accesses(
        uow, principal=principal, action="upload", object_type="expected_list", object_ids=[listed.id]
    )
    return ExpectedListOut.model_validate(listed, from_attributes=True)


async def expected_on(
    uow: Uow, *, principal: Principal, checkpoint_id: str | None, day: date, waiting_only: bool
) -> list[ExpectedPersonOut]:
    """Who the lists expect on the day at the checkpoint (or at all the caller's), those not yet arrived
    with `waiting_only`."""
    checkpoints = _where(principal, checkpoint_id)
    query = (
        select(ExpectedPerson)
        .join(ExpectedList, ExpectedList.id == ExpectedPerson.list_id)
        .where(ExpectedList.checkpoint_id.in_(checkpoints), ExpectedList.expected_on == day)
        .order_by(ExpectedList.uploaded_at, ExpectedPerson.line)
    )
    if waiting_only:
        query = query.where(ExpectedPerson.returnee_id.is_(None))
    rows = (await uow.session.scalars(query)).all()
    await record_accesses(
        uow,
        principal=principal,
        action="list",
        object_type="expected_person",
        object_ids=[r.id for r in rows],
    )
    return [ExpectedPersonOut.model_validate(r, from_attributes=True) for r in rows]


async def reconcile_list(uow: Uow, *, principal: Principal, list_id: UUID) -> Reconciliation:
    listed = await uow.session.get(ExpectedList, list_id)
    if listed is None:
        raise NotFound("list not found")
    try:
        check_checkpoint(principal, listed.checkpoint_id)
    except Forbidden:
        raise NotFound("list not found") from None  # another checkpoint's list: as if there were none
    arrived = await uow.session.scalar(
        select(func.count()).where(ExpectedPerson.list_id == list_id, ExpectedPerson.returnee_id.is_not(None))
    )
    return Reconciliation(expected=listed.people, arrived=arrived, not_yet=listed.people - arrived)


async def reconcile_day(
    uow: Uow, *, principal: Principal, checkpoint_id: str | None, day: date
) -> Reconciliation:
    """Expected against arrived on a day at the checkpoint (or at all the caller's), and who arrived that
    no list named."""
    checkpoints = _where(principal, checkpoint_id)
    on_lists = (
        select(func.count(), func.count(ExpectedPerson.returnee_id))
        .join(ExpectedList, ExpectedList.id == ExpectedPerson.list_id)
        .where(ExpectedList.checkpoint_id.in_(checkpoints), ExpectedList.expected_on == day)
    )
    expected, arrived = (await uow.session.execute(on_lists)).one()
    listed = exists().where(ExpectedPerson.returnee_id == Registration.id)
    unlisted = select(func.count()).where(
        Registration.checkpoint_id.in_(checkpoints), Registration.arrival_day == day, ~listed
    )
    return Reconciliation(
        expected=expected,
        arrived=arrived,
        not_yet=expected - arrived,
        arrived_not_expected=await uow.session.scalar(unlisted),
    )


def _both(key: str) -> str:
    """A heading in both languages, Khmer first: the sheet goes to the Thai counterpart as well."""
    return f"{text(f'sheet.{key}', 'km')} / {text(f'sheet.{key}', 'en')}"


async def day_sheet(uow: Uow, *, principal: Principal, checkpoint_id: str | None, day: date) -> str:
    """The day's statistics for the Thai counterpart, as CSV: the counts, then every listed person with
    whether they arrived. Names stay as the list gave them; nobody outside the lists is named."""
    counts = await reconcile_day(uow, principal=principal, checkpoint_id=checkpoint_id, day=day)
    people = await expected_on(
        uow, principal=principal, checkpoint_id=checkpoint_id, day=day, waiting_only=False
    )
    gaz = load_gazetteer()
    where = ", ".join(f"{gaz.checkpoint(c).name_en} ({c})" for c in _where(principal, checkpoint_id))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_both("title"), where, day.isoformat()])
    for key in ("expected", "arrived", "not_yet", "arrived_not_expected"):
        writer.writerow([_both(key), getattr(counts, key)])
    writer.writerow([])
    writer.writerow(
        [_both(k) for k in ("line", "name", "sex", "age", "document", "origin", "group", "status")]
    )
    for p in people:
        status = _both("status_arrived") if p.returnee_id else _both("status_not_yet")
        name = " / ".join(n for n in (p.name_latin, p.name_km) if n)
        row = [
            p.line,
            name,
            p.sex or "",
            p.age_years if p.age_years is not None else "",
            p.id_doc_number or "",
        ]
        writer.writerow([*row, p.origin or "", p.group_label or "", status])
    return "\ufeff" + out.getvalue()  # the BOM: Excel then reads the Khmer as UTF-8
