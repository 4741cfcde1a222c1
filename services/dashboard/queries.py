"""The read side: every figure is a GROUP BY over `returnee_state`, with the caller's scope in the WHERE.

Each use case turns the caller's grants and the asked area into `prefixes`: the list of province (2),
district (4) or commune (6) codes a query may count; None is the nation. Nothing outside them is ever read,
so a total cannot include another province's returnees.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, text, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.dashboard import domain
from services.dashboard.handlers import Uow
from services.dashboard.models import (
    AreaRow,
    ArrivalRow,
    CheckpointRow,
    CheckpointSync,
    Counts,
    DailyReport,
    FacilityRow,
    ManifestRow,
    MapPoint,
    ReportRow,
    ReturneeState,
    Summary,
)
from shared.errors import Invalid, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.web.auth import Principal, Role

R = ReturneeState.__table__.c
BEGINNING = date(2000, 1, 1)
MAX_DAYS = 92
# Dates far off are typos, and date arithmetic near year 1 or 9999 overflows: keep to this window.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
_LEVEL_COLUMN = {2: R.province_code, 4: R.district_code, 6: R.commune_code, 8: R.village_code}
# The column one level down from an area of a given code length (the nation's children are provinces).
_CHILD_COLUMN = {0: R.province_code, 2: R.district_code, 4: R.commune_code, 6: R.village_code}


def _prefixes(principal: Principal, area: str) -> list[str] | None:
    """The areas a query may count: 422 for a code the gazetteer does not know; an area outside the
    grants is answered as if it did not exist."""
    try:
        domain.area_level(area)
        granted = principal.geo_prefixes(Role.provincial_wg, Role.district_officer, Role.commune_chief)
        return domain.visible_prefixes(granted, area)
    except domain.BadArea as exc:
        raise Invalid(("query", "area"), "unknown area code") from exc
    except domain.OutOfScope as exc:
        raise NotFound("area not found") from exc


def _period(uow: Uow, since: date | None, until: date | None, default_days: int) -> tuple[date, date]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise Invalid(("query", name), f"give a date from {EARLIEST} to {LATEST}")
    until = until or uow.clock.today()
    since = since or until - timedelta(days=default_days - 1)
    if since > until or (until - since).days >= MAX_DAYS:
        raise Invalid(("query", "since"), f"give since <= until, at most {MAX_DAYS} days")
    return since, until


async def _reading(uow: Uow) -> AsyncSession:
    """The work's session; PostgreSQL's JIT costs more than it saves on these sub-second aggregates."""
    session = uow.session
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
    return session


def in_scope(prefixes: list[str] | None) -> ColumnElement[bool]:
    """The SQL condition for "home address inside one of these areas"."""
    if prefixes is None:
        return true()
    return or_(*(_LEVEL_COLUMN[len(p)] == p for p in prefixes)) if prefixes else literal(False)


def _between(column, since: date, until: date) -> ColumnElement[bool]:
    return and_(column >= since, column <= until)


def _flow_conditions(since: date, until: date) -> dict[str, ColumnElement[bool]]:
    """The report's figures for a period, each as the condition a returnee row must meet to count."""
    return {
        "received": and_(R.registered, _between(R.arrival_day, since, until)),
        "screened": and_(R.registered, R.screened, _between(R.arrival_day, since, until)),
        "referred": _between(R.referred_on, since, until),
        "in_quarantine": and_(R.quarantine_on <= until, or_(R.released_on.is_(None), R.released_on > until)),
        "released": _between(R.released_on, since, until),
        "transported": _between(R.transported_on, since, until),
        "handed_over": _between(R.handed_over_on, since, until),
        "visited": _between(R.visited_on, since, until),
        "overdue": _between(R.overdue_on, since, until),
        "alerted": _between(R.alerted_on, since, until),
        "completed": _between(R.completed_on, since, until),
    }


async def period_counts(
    session: AsyncSession, *, prefixes: list[str] | None, since: date, until: date, by
) -> dict[str, dict[str, int]]:
    """The report's figures for a period, grouped by one area column, in one pass over the rows."""
    conditions = _flow_conditions(since, until)
    columns = [func.count().filter(cond).label(name) for name, cond in conditions.items()]
    stmt = select(by, *columns).where(in_scope(prefixes)).group_by(by)
    result = await session.execute(stmt)
    return {row[0]: {name: row[i + 1] for i, name in enumerate(conditions)} for row in result}


async def areas(
    uow: Uow, *, principal: Principal, area: str, since: date | None, until: date | None
) -> list[AreaRow]:
    """The figures of each area one level below `area` (drill-down: nation, province, district); the whole
    record when no dates are given."""
    prefixes = _prefixes(principal, area)
    if since is None and until is None:
        since, until = BEGINNING, uow.clock.today()
    else:
        since, until = _period(uow, since, until, 1)
    depth = 0 if area == domain.NATION else len(area)
    by = _CHILD_COLUMN[depth]
    session = await _reading(uow)
    counts = await period_counts(session, prefixes=prefixes, since=since, until=until, by=by)
    rows = []
    for code, figures in sorted(counts.items()):
        if not any(figures.values()):
            continue
        name_en, name_km = domain.area_names(code)
        level = domain.LEVELS[len(code)]
        rows.append(AreaRow(code=code, level=level, name_en=name_en, name_km=name_km, parent=area, **figures))
    return rows


async def map_points(uow: Uow, *, principal: Principal, area: str) -> list[MapPoint]:
    """Every commune of the area the caller may see, placed and counted over the whole record: quiet
    communes too, so the map shows where nobody came home as well as where many did."""
    prefixes = _prefixes(principal, area)
    session = await _reading(uow)
    counts = await period_counts(
        session, prefixes=prefixes, since=BEGINNING, until=uow.clock.today(), by=R.commune_code
    )
    gazetteer = load_gazetteer()
    within = "" if area == domain.NATION else area
    provinces = [p.code for p in gazetteer.provinces() if p.code.startswith(within[:2])]
    districts = [
        d.code for p in provinces for d in gazetteer.districts_of(p) if d.code.startswith(within[:4])
    ]
    visible = tuple(prefixes) if prefixes is not None else ("",)
    points = []
    for district in districts:
        communes = [
            c
            for c in gazetteer.communes_of(district)
            if c.code.startswith(within) and c.code.startswith(visible)
        ]
        unplaced = [c for c in communes if gazetteer.point(c.code) is None]
        for commune in communes:
            placed = gazetteer.point(commune.code)
            point = placed or domain.around(gazetteer.point(district), unplaced.index(commune), len(unplaced))
            if point is None:
                continue
            figures = counts.get(commune.code, {})
            points.append(
                MapPoint(
                    code=commune.code,
                    name_en=commune.name_en,
                    name_km=commune.name_km,
                    lat=point[0],
                    lon=point[1],
                    approximate=placed is None,
                    **{k: figures.get(k, 0) for k in ("received", "in_quarantine", "visited", "overdue")},
                )
            )
    return points


async def _rollup(
    session: AsyncSession, *, prefixes: list[str] | None, area: str, since: date, until: date
) -> list[AreaRow]:
    """Communes summed up to districts, provinces and the nation (only what the caller may see)."""
    communes = await period_counts(session, prefixes=prefixes, since=since, until=until, by=R.commune_code)
    rows = []
    for code, figures in domain.roll_up(communes, top=area):
        # A nation row is only the nation's for a national caller; others get their own areas' totals.
        if code == domain.NATION and prefixes is not None:
            continue
        if area != domain.NATION and len(code) < len(area) and code != domain.NATION:
            continue
        name_en, name_km = domain.area_names(code)
        level = "nation" if code == domain.NATION else domain.LEVELS[len(code)]
        parent = domain.parent_of(code)
        rows.append(
            AreaRow(code=code, level=level, name_en=name_en, name_km=name_km, parent=parent, **figures)
        )
    return rows


_DAY_COLUMNS = {
    "received": (R.arrival_day, R.registered),
    "screened": (R.arrival_day, and_(R.registered, R.screened)),
    "referred": (R.referred_on, true()),
    "released": (R.released_on, true()),
    "transported": (R.transported_on, true()),
    "handed_over": (R.handed_over_on, true()),
    "visited": (R.visited_on, true()),
    "overdue": (R.overdue_on, true()),
}


async def daily_report(
    uow: Uow, *, principal: Principal, area: str, since: date | None, until: date | None
) -> DailyReport:
    """The daily situation report: per day, home province and checkpoint, with roll-up; today by default."""
    prefixes = _prefixes(principal, area)
    since, until = _period(uow, since, until, 1)
    now = uow.now()
    stale_after = timedelta(hours=uow.settings.stale_after_hours)
    session = await _reading(uow)
    return DailyReport(
        since=since,
        until=until,
        generated_at=now,
        stale_after_hours=uow.settings.stale_after_hours,
        rows=await _daily_rows(
            session, prefixes=prefixes, since=since, until=until, now=now, stale_after=stale_after
        ),
        rollup=await _rollup(session, prefixes=prefixes, area=area, since=since, until=until),
    )


async def _daily_rows(
    session: AsyncSession,
    *,
    prefixes: list[str] | None,
    since: date,
    until: date,
    now: datetime,
    stale_after: timedelta,
) -> list[ReportRow]:
    """Per day, home province and checkpoint: what happened that day, and how many were in quarantine."""
    checkpoint = func.coalesce(R.checkpoint_id, "")
    parts = [
        select(
            literal(name).label("metric"),
            R.province_code,
            checkpoint.label("cp"),
            day.label("day"),
            func.count(),
        )
        .where(in_scope(prefixes), cond, _between(day, since, until))
        .group_by(R.province_code, checkpoint, day)
        for name, (day, cond) in _DAY_COLUMNS.items()
    ]
    figures: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(domain.METRICS, 0))
    for metric, province, cp, day, n in await session.execute(union_all(*parts)):
        figures[(_as_date(day), province, cp)][metric] = n
    await _add_in_quarantine(session, figures, prefixes=prefixes, since=since, until=until)
    syncs = {s.checkpoint_id: s.last_sync_at for s in (await session.scalars(select(CheckpointSync)))}
    rows = []
    for (day, province, cp), counts in sorted(figures.items()):
        if not any(counts.values()):
            continue
        last = syncs.get(cp)
        stale = bool(cp) and (last is None or now - last > stale_after)
        rows.append(
            ReportRow(
                day=day, province_code=province, checkpoint_id=cp, stale=stale, last_sync_at=last, **counts
            )
        )
    return rows


async def _add_in_quarantine(
    session: AsyncSession, figures: dict, *, prefixes: list[str] | None, since: date, until: date
) -> None:
    """In quarantine at the end of each day: those in on the eve of `since`, plus starts, minus releases."""
    checkpoint = func.coalesce(R.checkpoint_id, "")
    eve = since - timedelta(days=1)
    base_stmt = (
        select(R.province_code, checkpoint, func.count())
        .where(in_scope(prefixes), R.quarantine_on <= eve, or_(R.released_on.is_(None), R.released_on > eve))
        .group_by(R.province_code, checkpoint)
    )
    starts: dict[tuple, dict[date, int]] = defaultdict(dict)
    releases: dict[tuple, dict[date, int]] = defaultdict(dict)
    for province, cp, n in await session.execute(base_stmt):
        starts[(province, cp)][eve] = n
    for target, column in ((starts, R.quarantine_on), (releases, R.released_on)):
        stmt = (
            select(R.province_code, checkpoint, column, func.count())
            .where(in_scope(prefixes), R.quarantine_on.is_not(None), _between(column, since, until))
            .group_by(R.province_code, checkpoint, column)
        )
        for province, cp, day, n in await session.execute(stmt):
            target[(province, cp)][_as_date(day)] = n
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    for key in starts.keys() | releases.keys():
        for day, n in domain.in_quarantine_by_day(starts.get(key, {}), releases.get(key, {}), days).items():
            if n:
                figures[(day, *key)]["in_quarantine"] = n


def _as_date(value) -> date:
    """SQLite returns dates from a UNION as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


async def arrivals(
    uow: Uow, *, principal: Principal, area: str, since: date | None, until: date | None
) -> list[ArrivalRow]:
    """Returnees received per checkpoint and day (Cambodia's calendar); the last 14 days by default."""
    prefixes = _prefixes(principal, area)
    since, until = _period(uow, since, until, 14)
    session = await _reading(uow)
    stmt = (
        select(R.arrival_day, R.checkpoint_id, func.count())
        .where(in_scope(prefixes), R.registered, _between(R.arrival_day, since, until))
        .group_by(R.arrival_day, R.checkpoint_id)
        .order_by(R.arrival_day, R.checkpoint_id)
    )
    return [ArrivalRow(day=d, checkpoint_id=c, count=n) for d, c, n in await session.execute(stmt)]


def _named_counts(conditions: dict[str, ColumnElement[bool]]) -> list:
    return [func.count().filter(cond).label(name) for name, cond in conditions.items()]


_CARE = {
    "child": R.care_child,
    "infant": R.care_infant,
    "pregnant": R.care_pregnant,
    "ill": R.care_ill,
    "elderly": R.care_elderly,
    "disability": R.care_disability,
}


def _summary_groups(now: datetime) -> dict[str, dict[str, ColumnElement[bool]]]:
    in_transit = and_(R.transported_on.is_not(None), R.handed_over_on.is_(None), R.missing_on.is_(None))
    return {
        "status": {s: R.status == s for s in domain.STATUSES},
        "sex": {s: and_(R.registered, R.sex == s) for s in ("F", "M", "X")},
        "age_groups": {g: and_(R.registered, R.age_group == g) for g in domain.AGE_GROUPS},
        "special_care": {name: and_(R.registered, column) for name, column in _CARE.items()},
        "followup": {
            "alerted": R.alerted_on.is_not(None),
            "visited": R.visited_on.is_not(None),
            "overdue": and_(R.overdue_on.is_not(None), R.visited_on.is_(None), R.completed_on.is_(None)),
            "completed": R.completed_on.is_not(None),
        },
        "transit": {
            "in_transit": in_transit,
            "overdue": and_(in_transit, R.expected_arrival < now),
            "missing": R.missing_on.is_not(None),
            "waiting_for_a_bed": and_(R.status == "waiting"),
        },
    }


async def summary(uow: Uow, *, principal: Principal, area: str) -> Summary:
    """Everything the dashboard's cards and charts show for an area, up to now."""
    prefixes = _prefixes(principal, area)
    today, now = uow.clock.today(), uow.now()
    session = await _reading(uow)
    groups = _summary_groups(now)
    flat = {f"{g}.{k}": cond for g, conds in groups.items() for k, cond in conds.items()}
    totals = {f"totals.{k}": _flow_conditions(BEGINNING, today)[k] for k in domain.METRICS}
    row = (await session.execute(select(*_named_counts(flat | totals)).where(in_scope(prefixes)))).one()
    values = row._asdict()
    parts = {g: {k: values[f"{g}.{k}"] for k in conds} for g, conds in groups.items()}
    return Summary(
        area=area,
        generated_at=now,
        totals=Counts(**{k: values[f"totals.{k}"] for k in domain.METRICS}),
        facilities=await _facilities(session, prefixes=prefixes),
        manifests=await _manifests(session, prefixes=prefixes, now=now),
        **parts,
    )


async def facilities(uow: Uow, *, principal: Principal, area: str) -> list[FacilityRow]:
    """Returnees of the area in each border facility now (capacity is not in the events yet)."""
    prefixes = _prefixes(principal, area)
    return await _facilities(await _reading(uow), prefixes=prefixes)


async def _facilities(session: AsyncSession, *, prefixes: list[str] | None) -> list[FacilityRow]:
    """Returnees (of the caller's areas) in each border facility now."""
    stmt = (
        select(R.facility_id, func.count())
        .where(
            in_scope(prefixes),
            R.facility_id.is_not(None),
            R.quarantine_on.is_not(None),
            R.released_on.is_(None),
        )
        .group_by(R.facility_id)
        .order_by(R.facility_id)
    )
    return [FacilityRow(facility_id=f, occupancy=n) for f, n in await session.execute(stmt)]


async def manifests(uow: Uow, *, principal: Principal, area: str) -> list[ManifestRow]:
    """Vehicles with returnees of the area still on the road, the overdue ones flagged."""
    prefixes = _prefixes(principal, area)
    return await _manifests(await _reading(uow), prefixes=prefixes, now=uow.now())


async def _manifests(
    session: AsyncSession, *, prefixes: list[str] | None, now: datetime, limit: int = 100
) -> list[ManifestRow]:
    """Vehicles with passengers of the caller's areas still on the road; overdue past the expected arrival."""
    on_road = and_(R.handed_over_on.is_(None), R.missing_on.is_(None))
    # The vehicles first (a partial index holds only the passengers on the road), then all their passengers.
    _manifests_on_road = select(R.manifest_id).where(R.transported_on.is_not(None), on_road).distinct()
    stmt = (
        select(
            R.manifest_id,
            func.max(R.destination_province_code),
            func.count(),
            func.count().filter(R.handed_over_on.is_not(None)),
            func.count().filter(R.missing_on.is_not(None)),
            func.max(R.expected_arrival),
            func.count().filter(on_road),
        )
        .where(in_scope(prefixes), R.manifest_id.in_(_manifests_on_road), R.transported_on.is_not(None))
        .group_by(R.manifest_id)
        .having(func.count().filter(on_road) > 0)
        .order_by(func.max(R.expected_arrival))
        .limit(limit)
    )
    rows = []
    for manifest_id, destination, total, handed, missing, expected, _on_road in await session.execute(stmt):
        rows.append(
            ManifestRow(
                manifest_id=manifest_id,
                destination_province_code=destination,
                passengers=total,
                handed_over=handed,
                missing=missing,
                expected_arrival=expected,
                overdue=expected is not None and expected < now,
            )
        )
    return rows


async def checkpoints(uow: Uow, *, principal: Principal, area: str) -> list[CheckpointRow]:
    """Every border checkpoint, when it last synced (stale after the configured hours) and how many of the
    caller's returnees in the area it registered."""
    prefixes = _prefixes(principal, area)
    now, stale_after = uow.now(), timedelta(hours=uow.settings.stale_after_hours)
    session = await _reading(uow)
    syncs = {s.checkpoint_id: s.last_sync_at for s in (await session.scalars(select(CheckpointSync)))}
    stmt = (
        select(R.checkpoint_id, func.count())
        .where(in_scope(prefixes), R.registered)
        .group_by(R.checkpoint_id)
    )
    registered = {cp: n for cp, n in await session.execute(stmt)}
    known = {c.id: c for c in load_gazetteer().checkpoints()}
    rows = []
    for cp_id in sorted(set(known) | set(syncs)):
        gaz = known.get(cp_id)
        last = syncs.get(cp_id)
        rows.append(
            CheckpointRow(
                checkpoint_id=cp_id,
                name_en=gaz.name_en if gaz else cp_id,
                province_code=gaz.province_code if gaz else "",
                last_sync_at=last,
                registrations=registered.get(cp_id, 0),
                stale=last is None or now - last > stale_after,
            )
        )
    return rows
