"""Quarantine rules as pure functions: choosing a facility, counting days, deciding on release."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

EARTH_RADIUS_KM = 6371.0
FEVER = "fever"


@dataclass(frozen=True)
class Site:
    """What placement needs to know of a facility."""

    id: str
    lat: float | None
    lon: float | None
    free: int
    special_care: frozenset[str]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): good enough to rank sites a few dozen km apart."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def choose_site(
    sites: Sequence[Site],
    *,
    origin: tuple[float, float] | None,
    needs: Iterable[str] = (),
    household_site: str | None = None,
) -> str | None:
    """The nearest site with a free bed that can give the care needed; None when there is none.

    A household member may only join the site the household is already in, so families stay together.
    Without a known origin (checkpoints with no position), the site with most free beds wins.
    """
    wanted = set(needs)
    fitting = [s for s in sites if s.free >= 1 and wanted <= s.special_care]
    if household_site is not None:
        fitting = [s for s in fitting if s.id == household_site]
    if not fitting:
        return None
    return min(fitting, key=lambda s: _rank(s, origin)).id


def _rank(site: Site, origin: tuple[float, float] | None) -> tuple:
    if origin is not None and site.lat is not None and site.lon is not None:
        return (0, distance_km(origin[0], origin[1], site.lat, site.lon), site.id)
    return (1, -site.free, site.id)


def ends_on(starts_on: date, days: int) -> date:
    """The release date: the day after the last whole day of quarantine."""
    return starts_on + timedelta(days=days)


def day_number(starts_on: date, today: date) -> int:
    """Day 1 is the start date."""
    return (today - starts_on).days + 1


def symptoms_of(temperature_c: float | None, symptoms: Iterable[str], fever_threshold_c: float) -> list[str]:
    """The reported symptoms, with fever added when the temperature shows it."""
    found = list(dict.fromkeys(s.strip().lower() for s in symptoms if s.strip()))
    if temperature_c is not None and temperature_c >= fever_threshold_c and FEVER not in found:
        found.append(FEVER)
    return found


def missed_days(*, starts_on: date, today: date, length: int, checked: set[int]) -> list[int]:
    """Past days of the quarantine (today excluded: it is not over) without any check-in."""
    last = min(day_number(starts_on, today) - 1, length)
    return [d for d in range(1, last + 1) if d not in checked]


@dataclass(frozen=True)
class Check:
    on: date
    clear: bool


def release_blocker(
    *,
    today: date,
    release_on: date | None,
    referred: bool,
    checks: Sequence[Check],
    window_days: int,
    require_final_checkin: bool,
) -> str | None:
    """Why the episode may not be released today, or None when it may."""
    if release_on is None:
        return "not started"
    if today < release_on:
        return "quarantine not over"
    if referred:
        return "referred to health care, not cleared"
    if checks and not checks[-1].clear:
        return "last check-in had symptoms"
    # The window follows today, so an episode held past its end is released once it has a clean window.
    recent = [c for c in checks if c.on >= today - timedelta(days=window_days)]
    if any(not c.clear for c in recent):
        return "symptoms reported in the final days"
    if require_final_checkin and not recent:
        return "no check-in in the final days"
    return None
