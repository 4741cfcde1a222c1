"""Pure logic of the dashboard: status of a returnee, age groups, scope of a caller, roll-ups and the CSV."""

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from shared.clock import CAMBODIA
from shared.geo.gazetteer import load_gazetteer
from shared.i18n import text

NATION = "KH"
LEVELS = {0: "nation", 2: "province", 4: "district", 6: "commune", 8: "village"}
METRICS = (
    "received",
    "screened",
    "referred",
    "in_quarantine",
    "released",
    "transported",
    "handed_over",
    "visited",
    "overdue",
)
AGE_GROUPS = ("0-4", "5-17", "18-59", "60+")
STATUSES = (
    "registered",
    "referred",
    "waiting",
    "in_quarantine",
    "released",
    "in_transit",
    "handed_over",
    "missing",
)


class OutOfScope(Exception):
    """The caller asked for an area outside what their grants let them see."""


class BadArea(ValueError):
    """Not a gazetteer code of a province, district or commune."""


def cambodia_day(moment: datetime) -> date:
    """The day a moment falls on in Cambodia: the day the statistics count it on."""
    return moment.astimezone(CAMBODIA).date()


def age_group(age_years: int) -> str:
    if age_years < 5:
        return "0-4"
    if age_years < 18:
        return "5-17"
    if age_years < 60:
        return "18-59"
    return "60+"


@dataclass(frozen=True)
class Steps:
    """The steps a returnee has been through, whatever order their events arrived in."""

    referred: bool = False
    referral_cleared: bool = False
    waiting: bool = False
    quarantined: bool = False
    home_quarantine: bool = False
    released: bool = False
    transported: bool = False
    handed_over: bool = False
    missing: bool = False


def status_of(steps: Steps) -> str:
    """Where the returnee is now: the furthest step reached, with an uncleared referral holding them."""
    if steps.handed_over:
        return "handed_over"
    if steps.missing:
        return "missing"
    if steps.transported:
        return "in_transit"
    if steps.released:
        return "released"
    if steps.quarantined and not steps.home_quarantine:
        return "in_quarantine"
    if steps.referred and not steps.referral_cleared:
        return "referred"
    if steps.waiting:
        return "waiting"
    return "registered"


def area_level(code: str) -> str:
    """`KH` is the nation; 2, 4 or 6 digits a province, district or commune of the gazetteer."""
    if code == NATION:
        return "nation"
    if len(code) not in (2, 4, 6) or load_gazetteer().area(code) is None:
        raise BadArea(code)
    return LEVELS[len(code)]


def area_names(code: str) -> tuple[str, str]:
    """(English, Khmer) name of an area; the code itself when the gazetteer does not know it."""
    if code == NATION:
        return text("area.nation", "en"), text("area.nation", "km")
    unit = load_gazetteer().area(code)
    return (unit.name_en, unit.name_km) if unit else (code, code)


def visible_prefixes(granted: set[str] | None, area: str) -> list[str] | None:
    """The code prefixes a query may count: the area asked for, cut down to the caller's grants.

    `granted` None is the nation. Asking for an area wider than the grants counts only the granted parts
    of it (a provincial user asking for the nation sees their province); an area outside them is refused.
    """
    if granted is None:
        return None if area == NATION else [area]
    if area == NATION:
        return sorted(granted)
    if any(area.startswith(p) for p in granted):
        return [area]
    inside = sorted(p for p in granted if p.startswith(area))
    if not inside:
        raise OutOfScope(area)
    return inside


def in_quarantine_by_day(
    starts: dict[date, int], releases: dict[date, int], days: Sequence[date]
) -> dict[date, int]:
    """How many are in quarantine at the end of each of consecutive `days`, from the counts started and
    released per day (all of history: what started before the first day is still counted)."""
    first = days[0]
    level = sum(n for d, n in starts.items() if d < first) - sum(n for d, n in releases.items() if d < first)
    result = {}
    for day in days:
        level += starts.get(day, 0) - releases.get(day, 0)
        result[day] = level
    return result


def roll_up(communes: dict[str, dict[str, int]], top: str = NATION) -> list[tuple[str, dict[str, int]]]:
    """Sum commune figures up to their districts, provinces and the nation: (code, figures) per area."""
    totals: dict[str, dict[str, int]] = {}
    for commune, figures in communes.items():
        for code in (commune, commune[:4], commune[:2], NATION):
            area = totals.setdefault(code, dict.fromkeys(figures, 0))
            for metric, n in figures.items():
                area[metric] = area.get(metric, 0) + n
    wanted = (code for code in totals if top == NATION or code.startswith(top) or code == NATION)
    # Nation first, then each province followed by its districts and communes.
    return [(code, totals[code]) for code in sorted(wanted, key=lambda c: (c != NATION, c))]


def parent_of(code: str) -> str | None:
    if code == NATION:
        return None
    return NATION if len(code) == 2 else code[: len(code) - 2]


CSV_COLUMNS = (
    "day", "province_code", "province", "province_km", "checkpoint_id", *METRICS, "stale", "last_sync_at"
)  # fmt: skip
# Excel reads a CSV without a byte-order mark as the machine's code page, and Khmer names as mojibake.
BOM = "\ufeff"


def report_csv(rows: Iterable[dict], rollup: Iterable[dict]) -> str:
    """The daily situation report as CSV: the day rows, then the roll-up rows (day "total"), names in
    English and Khmer, after a UTF-8 byte-order mark."""
    out = io.StringIO(BOM)
    out.seek(len(BOM))
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["day"],
                row["province_code"],
                *area_names(row["province_code"]),
                row["checkpoint_id"],
                *(row[m] for m in METRICS),
                "stale" if row["stale"] else "",
                row["last_sync_at"] or "",
            ]
        )
    writer.writerow([])
    writer.writerow(("level", "code", "name", "name_km", "parent", *METRICS))
    for area in rollup:
        names = (area["name_en"], area["name_km"])
        writer.writerow(
            [area["level"], area["code"], *names, area["parent"] or "", *(area[m] for m in METRICS)]
        )
    return out.getvalue()


# About 3 km: communes of one district without a point of their own spread around its point, apart
# enough to click, near enough to read as that district's.
AROUND_DEGREES = 0.03


def around(centre: tuple[float, float] | None, i: int, n: int) -> tuple[float, float] | None:
    """The i-th of n places on a ring around a point (none without a centre); the same place every time."""
    if centre is None:
        return None
    angle = 2 * math.pi * i / max(n, 1)
    return centre[0] + AROUND_DEGREES * math.sin(angle), centre[1] + AROUND_DEGREES * math.cos(angle)
