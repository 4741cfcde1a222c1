"""The paper manifest the driver carries: an A4 PDF in Khmer and English, from the same view as the JSON.

The HTML template (templates/manifest.html) is rendered by jinja2 with autoescaping on (names come from
the checkpoint tablets) and laid out by WeasyPrint with the machine's Khmer fonts (pango shapes Khmer).
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import count, groupby
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.transport.handlers import ManifestView
from services.transport.places import province_names
from shared.clock import CAMBODIA
from shared.geo.gazetteer import load_gazetteer

TEMPLATES = Path(__file__).parent / "templates"
# WeasyPrint tells each layout step at INFO: seven lines a print, nothing an operator needs.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")

CARE = {
    "child": ("កុមារ", "child"),
    "infant": ("ទារក", "infant"),
    "pregnant": ("ស្ត្រីមានផ្ទៃពោះ", "pregnant"),
    "ill": ("អ្នកជំងឺ", "ill"),
    "elderly": ("មនុស្សចាស់", "elderly"),
    "disability": ("ជនមានពិការភាព", "disability"),
}
GAPS = {
    "food": ("អាហារមិនគ្រប់", "not enough food"),
    "water": ("ទឹកមិនគ្រប់", "not enough water"),
    "medicine": ("គ្មានថ្នាំពេទ្យ", "no medicine kit"),
}
STATUS = {
    "proposed": ("បានស្នើ", "proposed"),
    "confirmed": ("បានបញ្ជាក់", "confirmed"),
    "dispatched": ("បានចេញដំណើរ", "dispatched"),
    "closed": ("បានបញ្ចប់", "closed"),
    "cancelled": ("បានលុបចោល", "cancelled"),
}
STAGE = {
    "handed_over": ("បានប្រគល់", "handed over"),
    "missing": ("បាត់ខ្លួន", "missing"),
}


@dataclass
class Seat:
    number: int
    name_km: str
    name_latin: str
    village: str
    care: list[tuple[str, str]]
    stage: tuple[str, str] | None


@dataclass
class Group:
    """One household (travelling together, placed whole), or one person travelling alone."""

    household: int | None  # its number on this manifest; None for someone alone
    seats: list[Seat]


def km_number(n: int | str) -> str:
    return str(n).translate(KHMER_DIGITS)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(CAMBODIA).strftime("%d/%m/%Y %H:%M") if moment else "—"


def _village(code: str) -> str:
    """Village, commune and district, in Khmer then English, for the escort to find the way."""
    gaz = load_gazetteer()
    units = [gaz.village(code), gaz.commune(code[:6]), gaz.district(code[:4])]
    named = [u for u in units if u is not None]
    if not named:
        return code
    return " ".join(u.name_km for u in named) + " / " + ", ".join(u.name_en for u in named)


def _seat(number: int, p) -> Seat:
    return Seat(
        number=number,
        name_km=p.name_km or "",
        name_latin=p.name_latin or "",
        village=_village(p.home_village_code),
        care=[CARE.get(c, (c, c)) for c in p.special_care],
        stage=STAGE.get(p.stage),
    )


def groups(view: ManifestView) -> list[Group]:
    """Passengers by household (a household boards whole, so it is counted and checked together), then
    the people travelling alone; seats are numbered through."""
    passengers = sorted(view.passengers, key=lambda p: (p.household_id is None, str(p.household_id or "")))
    seat, household = count(1), count(1)
    out: list[Group] = []
    for household_id, members in groupby(passengers, key=lambda p: p.household_id):
        if household_id is None:
            out += [Group(None, [_seat(next(seat), p)]) for p in members]
        else:
            out.append(Group(next(household), [_seat(next(seat), p) for p in members]))
    return out


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    env.filters["km"] = km_number
    return env


def manifest_html(view: ManifestView, printed_at: datetime) -> str:
    m = view.manifest
    district = load_gazetteer().district(m.destination_district) if m.destination_district else None
    return (
        _environment()
        .get_template("manifest.html")
        .render(
            manifest=m,
            vehicle=view.vehicle,
            origin=province_names(m.origin_province),
            destination=province_names(m.destination_province),
            district=district,
            status=STATUS.get(m.status, (m.status, m.status)),
            groups=groups(view),
            passengers=len(view.passengers),
            care=[(CARE.get(c, (c, c)), n) for c, n in sorted(view.care.items())],
            supplies=m.supplies,
            gaps=[GAPS.get(g, (g, g)) for g in view.supply_gaps],
            dispatched_at=_local(m.dispatched_at),
            expected_arrival=_local(m.expected_arrival),
            printed_at=_local(printed_at),
        )
    )


# One layout at a time: WeasyPrint shares pango's and fontconfig's caches between threads, which are not
# made for concurrent use; prints are rare enough that a queue of them costs nothing.
_LAYOUT = threading.Lock()


def manifest_pdf(view: ManifestView, printed_at: datetime) -> bytes:
    """The A4 PDF. CPU-bound (a few hundred ms): the route runs it in a worker thread."""
    from weasyprint import HTML  # imported on first print: it loads pango and the fonts

    html = manifest_html(view, printed_at)
    with _LAYOUT:
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
