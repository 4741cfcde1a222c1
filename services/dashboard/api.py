"""HTTP API of the dashboard: the figures as JSON for the pages and other systems, and the daily report."""

import logging
import time
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from services.dashboard import domain, handlers, queries, views
from services.dashboard.models import (
    AreaRow,
    ArrivalRow,
    CheckpointRow,
    DailyReport,
    FacilityRow,
    ManifestRow,
    MapPoint,
    ScopeArea,
    Summary,
)
from services.dashboard.settings import Settings
from shared.errors import Conflict
from shared.messaging.consumer import group_lag
from shared.unit_of_work import Deps, get_deps
from shared.web.api_errors import errors
from shared.web.auth import Principal, Role, public, require
from shared.web.pages import page_config, page_messages
from shared.web.service import RuntimeDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["dashboard"])

DashboardDeps = Annotated[Deps[Settings], Depends(get_deps)]

DASHBOARD_ROLES = (Role.provincial_wg, Role.district_officer, Role.commune_chief, Role.national_admin)
Reader = Annotated[Principal, require(*DASHBOARD_ROLES)]
Admin = Annotated[Principal, require(Role.national_admin)]
AreaQuery = Annotated[
    str, Query(max_length=6, description="KH (the nation), or a province, district or commune code")
]
# An area outside the caller's grants is answered as if it did not exist.
OUT_OF_SCOPE = errors(404)


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
async def summary(deps: DashboardDeps, principal: Reader, area: AreaQuery = domain.NATION) -> Summary:
    """Cards of the dashboard: totals to date, where returnees are now, who they are, follow-up, transit."""
    return await deps.run(queries.summary, principal=principal, area=area)


@router.get("/stats/areas", response_model=list[AreaRow], responses=OUT_OF_SCOPE)
async def areas(
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> list[AreaRow]:
    """The report's figures for each area one level down (drill-down); the whole record when no dates."""
    return await deps.run(queries.areas, principal=principal, area=area, since=since, until=until)


@router.get("/stats/arrivals", response_model=list[ArrivalRow], responses=OUT_OF_SCOPE)
async def arrivals(
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> list[ArrivalRow]:
    """Returnees received per checkpoint and day (Cambodia's calendar); the last 14 days by default."""
    return await deps.run(queries.arrivals, principal=principal, area=area, since=since, until=until)


@router.get("/stats/facilities", response_model=list[FacilityRow], responses=OUT_OF_SCOPE)
async def facilities(
    deps: DashboardDeps, principal: Reader, area: AreaQuery = domain.NATION
) -> list[FacilityRow]:
    """Returnees of the area in each border facility now (capacity is not in the events yet)."""
    return await deps.run(queries.facilities, principal=principal, area=area)


@router.get("/stats/manifests", response_model=list[ManifestRow], responses=OUT_OF_SCOPE)
async def manifests(
    deps: DashboardDeps, principal: Reader, area: AreaQuery = domain.NATION
) -> list[ManifestRow]:
    """Vehicles with returnees of the area still on the road, the overdue ones flagged."""
    return await deps.run(queries.manifests, principal=principal, area=area)


@router.get("/stats/checkpoints", response_model=list[CheckpointRow], responses=OUT_OF_SCOPE)
async def checkpoints(
    deps: DashboardDeps, principal: Reader, area: AreaQuery = domain.NATION
) -> list[CheckpointRow]:
    """Every checkpoint's last sync (stale after the configured hours) and its registrations in the area."""
    return await deps.run(queries.checkpoints, principal=principal, area=area)


@router.get("/stats/map", response_model=list[MapPoint], responses=OUT_OF_SCOPE)
async def map_points(
    deps: DashboardDeps, principal: Reader, area: AreaQuery = domain.NATION
) -> list[MapPoint]:
    """The communes of an area with their points and figures, for the map (no tiles needed)."""
    return await deps.run(queries.map_points, principal=principal, area=area)


@router.get("/reports/daily", response_model=DailyReport, responses=OUT_OF_SCOPE)
async def daily_report(
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> DailyReport:
    """The daily situation report: per day, home province and checkpoint, with roll-up; today by default."""
    return await deps.run(queries.daily_report, principal=principal, area=area, since=since, until=until)


@router.get(
    "/reports/daily.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}} | OUT_OF_SCOPE,
)
async def daily_report_csv(
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    report = await deps.run(queries.daily_report, principal=principal, area=area, since=since, until=until)
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
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
    lang: Literal["km", "en"] = "km",
) -> HTMLResponse:
    """The same report as a printable page."""
    report = await deps.run(queries.daily_report, principal=principal, area=area, since=since, until=until)
    return HTMLResponse(views.report_html(report, lang))


@router.get(
    "/reports/daily.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
    | OUT_OF_SCOPE,
)
async def daily_report_pdf(
    deps: DashboardDeps,
    principal: Reader,
    area: AreaQuery = domain.NATION,
    since: date | None = None,
    until: date | None = None,
    lang: Literal["km", "en"] = "km",
) -> Response:
    """The same report as an A4 PDF to print or send on; Khmer names shaped as on screen."""
    report = await deps.run(queries.daily_report, principal=principal, area=area, since=since, until=until)
    # Layout takes a few hundred milliseconds of CPU: off the event loop, so the live figures keep flowing.
    body = await run_in_threadpool(views.report_pdf, report, lang)
    filename = f"situation-{area}-{report.since}-{report.until}-{lang}.pdf"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type="application/pdf", headers=disposition)


@router.post("/admin/rebuild", responses=errors(409))
async def rebuild(rt: RuntimeDep, deps: DashboardDeps, principal: Admin, request: Request) -> dict:
    """Empty the read model and replay every topic from the start, while the service keeps serving; figures
    refill within seconds.

    The group's running consumers are stopped first (each commits what it finished), the tables and the
    inbox are emptied, the group is rewound to the first offsets, and new consumers start reading. Only the
    service frame can stop and start its consumers: this route alone takes it.
    """
    state = request.app.state
    if getattr(state, "rebuilding", False):
        raise Conflict("a rebuild is already being started")
    group = handlers.consumer_group(deps.settings)
    members = [c for c in rt.consumers if c.subscription.group == group]
    if not members:
        raise Conflict("no consumer of the read model's group runs here: rebuild refused")
    removed = 0

    async def reset() -> None:
        nonlocal removed
        removed = await deps.run(handlers.clear_read_model, group=group)
        topics = members[0].subscription.topics
        await handlers.rewind_group(deps.settings.kafka_bootstrap_servers, group, topics)

    state.rebuilding = True
    try:
        await rt.restart_group(group, reset)
    finally:
        state.rebuilding = False
    state.replaying = RebuildProgress(group, members[0].subscription.topics)
    log.info("read model rebuild started", extra={"removed": removed})
    return {"status": "rebuilding", "removed_returnees": removed}


class RebuildProgress:
    """How far a rebuild's replay is: the group's records not yet committed, asked of the broker at most
    every PROGRESS_SECONDS however many pages ask."""

    PROGRESS_SECONDS = 2.0

    def __init__(self, group: str, topics: list[str]):
        self.group, self.topics = group, topics
        self.behind: int | None = None
        self._asked_at = float("-inf")

    async def events_behind(self, bootstrap: str) -> int:
        if time.monotonic() - self._asked_at >= self.PROGRESS_SECONDS:
            self._asked_at = time.monotonic()
            self.behind = await group_lag(bootstrap, self.group, self.topics)
        return self.behind or 0


@router.get("/rebuild/progress")
async def rebuild_progress(deps: DashboardDeps, principal: Reader, request: Request) -> dict:
    """Whether the figures are being rebuilt, and how many events are still to be replayed: while they
    are, the page says its figures read low. No returnee data: any dashboard reader may ask."""
    replaying: RebuildProgress | None = getattr(request.app.state, "replaying", None)
    if replaying is None:
        return {"rebuilding": False, "events_behind": 0}
    behind = await replaying.events_behind(deps.settings.kafka_bootstrap_servers)
    if behind == 0:
        request.app.state.replaying = None  # done: nothing more to ask the broker
    return {"rebuilding": behind > 0, "events_behind": behind}


@router.get("/dashboard/config.json", dependencies=[public()])
async def dashboard_config(deps: DashboardDeps, request: Request) -> dict:
    """Where the page's API is, where it logs in and how often it refreshes (no data: open to all)."""
    return page_config(request, deps.settings.identity_url) | {
        "refresh_seconds": deps.settings.refresh_seconds
    }


@router.get("/dashboard/messages.json", dependencies=[public()])
async def dashboard_messages() -> dict:
    """The page's words in Khmer and English (shared/i18n)."""
    return page_messages("dashboard")
