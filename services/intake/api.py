"""HTTP API of the intake service: registrations, statistics and the gazetteer for the tablet page."""

import hashlib
import json
import shutil
import tempfile
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from services.intake import expected, handlers, importing
from services.intake.importing import read_rows
from services.intake.models import (
    CorrectionIn,
    DayStats,
    ExpectedListOut,
    ExpectedPersonOut,
    HouseholdOut,
    ImportJobOut,
    Reconciliation,
    RegistrationIn,
    RegistrationOut,
    RegistrationPage,
)
from services.intake.settings import Settings
from shared.contracts.intake import plain_text
from shared.errors import DomainError, Invalid, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import Deps, OriginDep, get_deps
from shared.web.api_errors import errors
from shared.web.auth import Principal, Role, public, require
from shared.web.pages import page_config, page_messages

router = APIRouter(tags=["intake"])

IntakeDeps = Annotated[Deps[Settings], Depends(get_deps)]

Officer = Annotated[Principal, require(Role.checkpoint_officer)]
Reader = Annotated[Principal, require(Role.checkpoint_officer, Role.provincial_wg, Role.national_admin)]
# The gazetteer is open data, but only signed-in users of the system fetch it from here.
AnyUser = Annotated[Principal, require(*Role)]
# PostgreSQL's OFFSET is a bigint: a larger one would be a server error, not an empty page.
MAX_OFFSET = 1_000_000_000
# Query text goes to the database, which refuses NUL: no control characters.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
CHECKPOINT = r"^[A-Za-z0-9-]{1,16}$"


@router.post(
    "/returnees",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    responses={200: {"model": HouseholdOut, "description": "A re-sent registration: the stored record"}}
    | errors(409),
)
async def register_returnee(
    body: RegistrationIn, deps: IntakeDeps, principal: Officer, response: Response, origin: OriginDep
) -> HouseholdOut:
    """Register a returnee, with household members if given; 201 when new, 200 for a re-sent request."""
    record, created = await deps.run(handlers.register, origin=origin, principal=principal, request=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return record


class BatchIn(BaseModel):
    """A tablet's queue sent at once: each registration is checked, answered and kept idempotent alone."""

    registrations: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class BatchAnswer(BaseModel):
    id: UUID | None  # the registration's own id, when it had a valid one
    status: int  # what POST /returnees would have answered for it alone: 201, 200, 403, 409, 422
    registration: HouseholdOut | None = None
    detail: str | list[dict[str, Any]] | None = None  # as in that answer's body


@router.post("/returnees/batch", response_model=list[BatchAnswer])
async def register_batch(
    body: BatchIn, deps: IntakeDeps, principal: Officer, origin: OriginDep
) -> list[BatchAnswer]:
    """Register up to 50 households in one request (a tablet's offline queue); the answers are in the
    order of the registrations, each as `POST /returnees` would give it. Each household's events carry its
    id as their correlation id."""
    answers: list[BatchAnswer | None] = [None] * len(body.registrations)
    valid, where = [], []
    for i, item in enumerate(body.registrations):
        try:
            valid.append(RegistrationIn.model_validate(item))
            where.append(i)
        except ValidationError as exc:
            answers[i] = BatchAnswer(id=_item_id(item), status=422, detail=_problems(exc))
    registered = await deps.run(
        handlers.register_many, origin=origin, principal=principal, requests=valid, correlate_households=True
    )
    for i, request, answer in zip(where, valid, registered, strict=True):
        if isinstance(answer, Invalid):
            problem = {"loc": list(answer.loc), "msg": answer.message, "type": "value_error"}
            answers[i] = BatchAnswer(id=request.id, status=422, detail=[problem])
        elif isinstance(answer, DomainError):
            answers[i] = BatchAnswer(id=request.id, status=answer.status, detail=answer.detail)
        else:
            record, created = answer
            answers[i] = BatchAnswer(id=request.id, status=201 if created else 200, registration=record)
    return answers


def _item_id(item: dict) -> UUID | None:
    try:
        return UUID(str(item.get("id")))
    except ValueError:
        return None


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    """FastAPI's 422 items (without the input, which the caller has)."""
    return [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False)
    ]


# --- expected arrivals: the Thai side's lists, and who of them came ------------------------------------


def _mapping(text: str | None) -> dict[str, str] | None:
    """A source's column names as JSON, {our field: their column}, e.g. {"name_latin": "Name"}."""
    if not text:
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        k in expected.FIELDS and isinstance(v, str) and 0 < len(v) <= 100 for k, v in mapping.items()
    ):
        raise Invalid(
            ("body", "mapping"),
            f"a JSON object from our fields ({', '.join(expected.FIELDS)}) to column names",
        )
    return mapping


@router.post(
    "/expected-lists",
    status_code=status.HTTP_201_CREATED,
    response_model=ExpectedListOut,
    responses=errors(403, 404),
)
async def upload_expected_list(
    deps: IntakeDeps,
    principal: Reader,
    file: UploadFile,
    checkpoint_id: Annotated[str, Form(pattern=CHECKPOINT)],
    expected_on: Annotated[date, Form()],
    source: Annotated[str, Form(min_length=1, max_length=100, pattern=PRINTABLE)],
    mapping: Annotated[str | None, Form(max_length=2000)] = None,
) -> ExpectedListOut:
    """A list of people expected at a checkpoint on a day (CSV or XLSX, as the Thai side sends it). The
    columns are named by `mapping`, else by the source's last mapping, else by our field names; a list with
    any bad row is refused whole, each bad row named by its line."""
    given = _mapping(mapping)
    columns = given or await deps.run(expected.mapping_for, source=source)
    try:
        people, problems = await run_in_threadpool(
            lambda: expected.parse(read_rows(file.file, file.filename or ""), columns)
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(("body", "file"), f"not a CSV (UTF-8) or XLSX file: {exc}") from None
    if problems:
        raise RequestValidationError(problems)
    return await deps.run(
        expected.save_list,
        principal=principal,
        checkpoint_id=checkpoint_id,
        expected_on=expected_on,
        source=source,
        filename=file.filename or "",
        people=people,
        mapping=given,
    )


@router.get("/expected", response_model=list[ExpectedPersonOut], responses=errors(403, 404))
async def expected_people(
    deps: IntakeDeps,
    principal: Reader,
    day: date,
    checkpoint_id: Annotated[str | None, Query(pattern=CHECKPOINT)] = None,
    waiting: bool = True,
) -> list[ExpectedPersonOut]:
    """Who the lists expect on the day at the checkpoint (by default, at every checkpoint of the caller's);
    with `waiting` (the default), those not yet confirmed as arrived: what the tablet offers to confirm."""
    return await deps.run(
        expected.expected_on, principal=principal, checkpoint_id=checkpoint_id, day=day, waiting_only=waiting
    )


@router.get("/expected-lists/{list_id}/reconciliation", response_model=Reconciliation, responses=errors(404))
async def list_reconciliation(list_id: UUID, deps: IntakeDeps, principal: Reader) -> Reconciliation:
    """One list: expected, arrived, not yet arrived."""
    return await deps.run(expected.reconcile_list, principal=principal, list_id=list_id)


@router.get("/reconciliation", response_model=Reconciliation, responses=errors(403, 404))
async def day_reconciliation(
    deps: IntakeDeps,
    principal: Reader,
    day: date,
    checkpoint_id: Annotated[str | None, Query(pattern=CHECKPOINT)] = None,
) -> Reconciliation:
    """A day at the checkpoint (by default, at all the caller's): expected on the lists, arrived, not yet,
    and arrived but on no list."""
    return await deps.run(expected.reconcile_day, principal=principal, checkpoint_id=checkpoint_id, day=day)


@router.get(
    "/reconciliation.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the day's sheet"}} | errors(403, 404),
)
async def day_sheet(
    deps: IntakeDeps,
    principal: Reader,
    day: date,
    checkpoint_id: Annotated[str | None, Query(pattern=CHECKPOINT)] = None,
) -> Response:
    """The day's statistics sheet for the Thai counterpart, in Khmer and English (CSV with a BOM, for
    Excel): the counts, and every listed person with whether they arrived; for the checkpoint, or for all
    the caller's."""
    sheet = await deps.run(expected.day_sheet, principal=principal, checkpoint_id=checkpoint_id, day=day)
    name = f"arrivals-{checkpoint_id or 'all'}-{day.isoformat()}.csv"
    return Response(
        sheet,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- imports of registrations kept on paper or in spreadsheets --------------------------------------------


def _save_upload(upload: UploadFile) -> Path:
    suffix = ".xlsx" if (upload.filename or "").lower().endswith(".xlsx") else ".csv"
    with tempfile.NamedTemporaryFile(prefix="intake-import-", suffix=suffix, delete=False) as out:
        shutil.copyfileobj(upload.file, out)
    return Path(out.name)


@router.post(
    "/imports", status_code=status.HTTP_202_ACCEPTED, response_model=ImportJobOut, responses=errors(403, 404)
)
async def start_import(
    deps: IntakeDeps,
    principal: Reader,
    file: UploadFile,
    checkpoint_id: Annotated[str, Form(pattern=CHECKPOINT)],
) -> ImportJobOut:
    """Import a CSV or XLSX of registrations (columns: docs/intake.md), as `border-intake import` does, in
    the background: follow it at `GET /imports/{id}`. The same file again registers nothing new."""
    path = await run_in_threadpool(_save_upload, file)
    try:
        job = await deps.run(
            importing.start_job,
            principal=principal,
            checkpoint_id=checkpoint_id,
            filename=file.filename or "",
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    importing.run_in_background(deps, job=job, path=path, officer=principal.subject)
    return job


@router.get("/imports/{job_id}", response_model=ImportJobOut, responses=errors(404))
async def import_progress(job_id: UUID, deps: IntakeDeps, principal: Reader) -> ImportJobOut:
    """An import's progress: people registered and already there so far, refused households, its state."""
    return await deps.run(importing.get_job, principal=principal, job_id=job_id)


@router.get("/returnees", response_model=RegistrationPage)
async def search_returnees(
    deps: IntakeDeps,
    principal: Reader,
    origin: OriginDep,
    q: Annotated[
        str | None,
        Query(max_length=100, pattern=PRINTABLE, description="name, phone or document number"),
        AfterValidator(plain_text),  # as the names were stored, or it would miss them
    ] = None,
    checkpoint_id: Annotated[str | None, Query(pattern=CHECKPOINT)] = None,
    day: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RegistrationPage:
    """Registrations the caller may see, newest first."""
    return await deps.run(
        handlers.search,
        origin=origin,
        principal=principal,
        text=q,
        checkpoint_id=checkpoint_id,
        day=day,
        limit=limit,
        offset=offset,
    )


@router.get("/returnees/{returnee_id}", response_model=RegistrationOut, responses=errors(404))
async def get_returnee(
    returnee_id: UUID, deps: IntakeDeps, principal: Reader, origin: OriginDep
) -> RegistrationOut:
    return await deps.run(handlers.get, origin=origin, principal=principal, returnee_id=returnee_id)


@router.patch("/returnees/{returnee_id}", response_model=RegistrationOut, responses=errors(404, 409))
async def correct_returnee(
    returnee_id: UUID, body: CorrectionIn, deps: IntakeDeps, principal: Officer, origin: OriginDep
) -> RegistrationOut:
    """Correct a registration of one of the officer's checkpoints."""
    return await deps.run(
        handlers.correct, origin=origin, principal=principal, returnee_id=returnee_id, request=body
    )


@router.get("/stats", response_model=list[DayStats])
async def day_statistics(
    deps: IntakeDeps,
    principal: Reader,
    since: date | None = None,
    until: date | None = None,
    checkpoint_id: Annotated[str | None, Query(pattern=CHECKPOINT)] = None,
) -> list[DayStats]:
    """Arrivals per checkpoint and day (Cambodia's calendar); today when no dates are given."""
    until = until or deps.clock.today()
    since = since or until
    if since > until or until - since > timedelta(days=92):
        raise Invalid(("query", "since"), "give at most 92 days, since <= until")
    return await deps.run(
        handlers.stats, principal=principal, since=since, until=until, checkpoint_id=checkpoint_id
    )


# --- gazetteer and checkpoints, for the village picker --------------------------------------------------


class VillageHit(BaseModel):
    code: str
    name_km: str
    name_en: str
    label_km: str
    label_en: str


@router.get("/gazetteer/search", response_model=list[VillageHit])
async def search_villages(
    principal: AnyUser,
    q: Annotated[str, Query(min_length=1, max_length=60)],
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[VillageHit]:
    """Villages whose Khmer or Latin name contains `q`, with their commune, district and province."""
    gaz = load_gazetteer()
    hits = []
    for village in gaz.search_villages(q, province_code=province, limit=limit):
        place = gaz.place(village.code)
        hits.append(
            VillageHit(
                code=village.code,
                name_km=village.name_km,
                name_en=village.name_en,
                label_km=place.label("km"),
                label_en=place.label("en"),
            )
        )
    return hits


@router.get(
    "/gazetteer/provinces/{code}.json",
    responses={304: {"description": "The tablet's copy (If-None-Match) is current"}} | errors(404),
)
async def province_gazetteer(code: str, principal: AnyUser, request: Request) -> Response:
    """A province's districts, communes and villages as compact rows, for the tablet's offline picker."""
    body, etag = _province_json(code)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return Response(
        body, media_type="application/json", headers={"ETag": etag, "Cache-Control": "private, max-age=86400"}
    )


@router.get("/gazetteer/provinces")
async def provinces(principal: AnyUser) -> list[list[str]]:
    """[code, Latin name, Khmer name] of every province."""
    return [[p.code, p.name_en, p.name_km] for p in load_gazetteer().provinces()]


@router.get("/checkpoints")
async def checkpoints(principal: AnyUser) -> list[dict]:
    return [
        {"id": c.id, "name_en": c.name_en, "province_code": c.province_code}
        for c in load_gazetteer().checkpoints()
    ]


@lru_cache(maxsize=32)
def _province_json(code: str) -> tuple[bytes, str]:
    gaz = load_gazetteer()
    province = gaz.province(code)
    if province is None:
        raise NotFound("unknown province code")
    districts = gaz.districts_of(code)
    communes = [c for d in districts for c in gaz.communes_of(d.code)]
    villages = [v for c in communes for v in gaz.villages_of(c.code)]
    data = {
        "province": [province.code, province.name_en, province.name_km],
        "districts": [[d.code, d.name_en, d.name_km] for d in districts],
        "communes": [[c.code, c.name_en, c.name_km] for c in communes],
        "villages": [[v.code, v.name_en, v.name_km] for v in villages],
    }
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


# --- the tablet page's settings and words (public: they hold no data) -----------------------------------

tablet = APIRouter(tags=["tablet"])


@tablet.get("/tablet/config.json", dependencies=[public()])
async def tablet_config(deps: IntakeDeps, request: Request) -> dict:
    """Where the page's API is and where it logs in (see shared/web/pages.py)."""
    return page_config(request, deps.settings.identity_url)


@tablet.get("/tablet/messages.json", dependencies=[public()])
async def tablet_messages() -> dict:
    """The page's words in Khmer and English (shared/i18n); the service worker keeps them for offline."""
    return page_messages("tablet")
