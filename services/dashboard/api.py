"""HTTP API of the dashboard: the figures as JSON for the pages and other systems, and the daily report."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.dashboard import domain, handlers, queries, views
from services.dashboard.models import (
    AreaRow,
    ArrivalRow,
    CheckpointRow,
    DailyReport,
    FacilityRow,
    ManifestRow,
    ScopeArea,
    Summary,
)
from shared.api_errors import errors, invalid
from shared.auth import Principal, Role, public, require
from shared.service import Runtime, RuntimeDep

router = APIRouter(tags=["dashboard"])

DASHBOARD_ROLES = (Role.provincial_wg, Role.district_officer, Role.commune_chief, Role.national_admin)
Reader = Annotated[Principal, require(*DASHBOARD_ROLES)]
Admin = Annotated[Principal, require(Role.national_admin)]
AreaQuery = Annotated[
    str, Query(max_length=6, description="KH (the nation), or a province, district or commune code")
]
MAX_DAYS = 92
# Dates far off are typos, and date arithmetic near year 1 or 9999 overflows: keep to this window.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
# An area outside the caller's grants is answered as if it did not exist.
OUT_OF_SCOPE = errors(404)


def _prefixes(principal: Principal, area: str) -> list[str] | None:
    """The areas a query may count: 422 for a code the gazetteer does not know, 404 outside the grants."""
    try:
        domain.area_level(area)
        granted = principal.geo_prefixes(Role.provincial_wg, Role.district_officer, Role.commune_chief)
        return domain.visible_prefixes(granted, area)
    except domain.BadArea as exc:
        raise RequestValidationError(
            [{"loc": ("query", "area"), "msg": "unknown area code", "type": "value_error"}]
        ) from exc
    except domain.OutOfScope as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "area not found") from exc


def _period(rt: Runtime, since: date | None, until: date | None, default_days: int) -> tuple[date, date]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise invalid("query", name, msg=f"give a date from {EARLIEST} to {LATEST}")
    until = until or rt.clock.today()
    since = since or until - timedelta(days=default_days - 1)
    if since > until or (until - since).days >= MAX_DAYS:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "since"),
                    "msg": f"give since <= until, at most {MAX_DAYS} days",
                    "type": "value_error",
                }
            ]
        )
    return since, until


@asynccontextmanager
async def _reading(rt: Runtime) -> AsyncIterator[AsyncSession]:
    """A read-only session; PostgreSQL's JIT costs more than it saves on these sub-second aggregates."""
    async with rt.sessions() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SET LOCAL jit = off"))
        yield session


def _stale_after(rt: Runtime) -> timedelta:
    return timedelta(hours=rt.settings.stale_after_hours)  # type: ignore[attr-defined]


@router.get("/stats/scope", response_model=list[ScopeArea])
async def my_areas(principal: Reader) -> list[ScopeArea]:
    """The areas the caller may open: the nation, or their provinces, districts or communes."""
    granted = principal.geo_prefixes(Role.provincial_wg, Role.district_officer, Role.commune_chief)
    codes = [domain.NATION] if granted is None else sorted(granted)
    areas = []
    for code in codes:
        name_en, name_km = domain.area_names(code)
        level = "nation" if code == domain.NATION else domain.LEVELS.get(len(code), "area")
        areas.append(ScopeArea(code=code, level=level, name_en=name_en, name_km=name_km))
    return areas


@router.get("/stats/summary", response_model=Summary, responses=OUT_OF_SCOPE)
async def summary(rt: RuntimeDep, principal: Reader, area: AreaQuery = domain.NATION) -> Summary:
    """Cards of the dashboard: totals to date, where returnees are now, who they are, follow-up, transit."""
    prefixes = _prefixes(principal, area)
    async with _reading(rt) as session:
        return await queries.summary(
            session, prefixes=prefixes, area=area, today=rt.clock.today(), now=rt.clock.now()
        )


@router.get("/stats/areas", response_model=list[AreaRow], responses=OUT_OF_SCOPE)
async def areas(
    rt: RuntimeDep,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> list[AreaRow]:
    """The report's figures for each area one level down (drill-down); the whole record when no dates."""
    prefixes = _prefixes(principal, area)
    if since is None and until is None:
        since, until = queries.BEGINNING, rt.clock.today()
    else:
        since, until = _period(rt, since, until, 1)
    async with _reading(rt) as session:
        return await queries.areas(session, prefixes=prefixes, area=area, since=since, until=until)


@router.get("/stats/arrivals", response_model=list[ArrivalRow], responses=OUT_OF_SCOPE)
async def arrivals(
    rt: RuntimeDep,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> list[ArrivalRow]:
    """Returnees received per checkpoint and day (Cambodia's calendar); the last 14 days by default."""
    prefixes = _prefixes(principal, area)
    since, until = _period(rt, since, until, 14)
    async with _reading(rt) as session:
        return await queries.arrivals(session, prefixes=prefixes, since=since, until=until)


@router.get("/stats/facilities", response_model=list[FacilityRow], responses=OUT_OF_SCOPE)
async def facilities(rt: RuntimeDep, principal: Reader, area: AreaQuery = domain.NATION) -> list[FacilityRow]:
    """Returnees of the area in each border facility now (capacity is not in the events yet)."""
    prefixes = _prefixes(principal, area)
    async with _reading(rt) as session:
        return await queries.facilities(session, prefixes=prefixes)


@router.get("/stats/manifests", response_model=list[ManifestRow], responses=OUT_OF_SCOPE)
async def manifests(rt: RuntimeDep, principal: Reader, area: AreaQuery = domain.NATION) -> list[ManifestRow]:
    """Vehicles with returnees of the area still on the road, the overdue ones flagged."""
    prefixes = _prefixes(principal, area)
    async with _reading(rt) as session:
        return await queries.manifests(session, prefixes=prefixes, now=rt.clock.now())


@router.get("/stats/checkpoints", response_model=list[CheckpointRow], responses=OUT_OF_SCOPE)
async def checkpoints(
    rt: RuntimeDep, principal: Reader, area: AreaQuery = domain.NATION
) -> list[CheckpointRow]:
    """Every checkpoint's last sync (stale after the configured hours) and its registrations in the area."""
    prefixes = _prefixes(principal, area)
    async with _reading(rt) as session:
        return await queries.checkpoints(
            session, prefixes=prefixes, now=rt.clock.now(), stale_after=_stale_after(rt)
        )


async def _daily(
    rt: Runtime, principal: Principal, area: str, since: date | None, until: date | None
) -> DailyReport:
    prefixes = _prefixes(principal, area)
    since, until = _period(rt, since, until, 1)
    now = rt.clock.now()
    async with _reading(rt) as session:
        rows = await queries.daily_rows(
            session, prefixes=prefixes, since=since, until=until, now=now, stale_after=_stale_after(rt)
        )
        rollup = await queries.rollup(session, prefixes=prefixes, area=area, since=since, until=until)
    return DailyReport(
        since=since,
        until=until,
        generated_at=now,
        stale_after_hours=rt.settings.stale_after_hours,  # type: ignore[attr-defined]
        rows=rows,
        rollup=rollup,
    )


@router.get("/reports/daily", response_model=DailyReport, responses=OUT_OF_SCOPE)
async def daily_report(
    rt: RuntimeDep,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> DailyReport:
    """The daily situation report: per day, home province and checkpoint, with roll-up; today by default."""
    return await _daily(rt, principal, area, since, until)


@router.get(
    "/reports/daily.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}} | OUT_OF_SCOPE,
)
async def daily_report_csv(
    rt: RuntimeDep,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    report = await _daily(rt, principal, area, since, until)
    body = domain.report_csv(
        [r.model_dump(mode="json") for r in report.rows], [a.model_dump(mode="json") for a in report.rollup]
    )
    filename = f"situation-{area}-{report.since}-{report.until}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/daily.html", response_class=HTMLResponse, responses=OUT_OF_SCOPE)
async def daily_report_html(
    rt: RuntimeDep,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
    lang: Literal["km", "en"] = "km",
) -> HTMLResponse:
    """The same report as a printable page."""
    report = await _daily(rt, principal, area, since, until)
    return HTMLResponse(views.report_html(report, lang))


@router.post("/admin/rebuild", responses=errors(409))
async def rebuild(rt: RuntimeDep, principal: Admin, request: Request) -> dict:
    """Empty the read model and replay every topic from the start; figures refill within seconds."""
    state = request.app.state
    if getattr(state, "rebuilding", False):
        raise HTTPException(status.HTTP_409_CONFLICT, "a rebuild is already being started")
    state.rebuilding = True
    try:
        removed = await handlers.rebuild(rt)
    finally:
        state.rebuilding = False
    return {"status": "rebuilding", "removed_returnees": removed}


@router.get("/dashboard/config.json", dependencies=[public()])
async def page_config(rt: RuntimeDep) -> dict:
    """Where the page logs in and how often it refreshes (no data: open to all)."""
    return {
        "identity_url": rt.settings.identity_url,  # type: ignore[attr-defined]
        "refresh_seconds": rt.settings.refresh_seconds,  # type: ignore[attr-defined]
    }
