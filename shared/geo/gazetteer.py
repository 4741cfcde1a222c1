"""Cambodian administrative gazetteer (NCDD, via pumi) and Cambodia–Thailand border checkpoints."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data" / "cambodia"

Lang = Literal["km", "en"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Province:
    """A province (khaet) or the capital (reach theani)."""

    code: str
    name_en: str
    name_km: str


@dataclass(frozen=True, slots=True)
class District:
    """A district (srok), municipality (krong) or Phnom Penh section (khan)."""

    code: str
    name_en: str
    name_km: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune (khum) or quarter (sangkat)."""

    code: str
    name_en: str
    name_km: str
    district_code: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Village:
    """A village (phum)."""

    code: str
    name_en: str
    name_km: str
    commune_code: str
    district_code: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A border crossing; finer codes may be empty and lat/lon are approximate (5–20 km) or None."""

    id: str
    name_en: str
    province_code: str
    district_code: str
    commune_code: str
    village_code: str
    lat: float | None
    lon: float | None
    thai_counterpart: str


@dataclass(frozen=True, slots=True)
class Place:
    """A village with its full chain of parent units."""

    village: Village
    commune: Commune
    district: District
    province: Province

    def label(self, lang: Lang = "en") -> str:
        """Return "village, commune, district, province" in Khmer ("km") or Latin ("en")."""
        if lang not in ("km", "en"):
            raise ValueError(f"lang must be 'km' or 'en', not {lang!r}")
        units = (self.village, self.commune, self.district, self.province)
        return ", ".join(u.name_km if lang == "km" else u.name_en for u in units)


def _prefix(code: str, length: int) -> str:
    # isdigit() alone would accept Khmer digits such as "០១", which are not gazetteer codes.
    if not (isinstance(code, str) and code.isascii() and code.isdigit()):
        raise ValueError(f"gazetteer code must be ASCII digits, not {code!r}")
    if len(code) not in (2, 4, 6, 8) or len(code) < length:
        raise ValueError(f"code {code!r} has no {length}-digit parent")
    return code[:length]


def commune_of(code: str) -> str:
    """Return the 6-digit commune code of a commune or village code."""
    return _prefix(code, 6)


def district_of(code: str) -> str:
    """Return the 4-digit district code of a district, commune or village code."""
    return _prefix(code, 4)


def province_of(code: str) -> str:
    """Return the 2-digit province code of any gazetteer code."""
    return _prefix(code, 2)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


_Unit = TypeVar("_Unit", Province, District, Commune, Village)


def _load(path: Path, cls: type[_Unit]) -> dict[str, _Unit]:
    """Read a gazetteer CSV into {code: unit}, taking the columns named like cls's fields."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        columns = [header.index(field.name) for field in fields(cls)]
        units = (cls(*[row[i] for i in columns]) for row in reader)
        return {unit.code: unit for unit in units}


def _float_or_none(text: str) -> float | None:
    return float(text) if text.strip() else None


def _group(items: Iterable[_T], key: Callable[[_T], str]) -> dict[str, tuple[_T, ...]]:
    groups: dict[str, list[_T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {k: tuple(group) for k, group in groups.items()}


class Gazetteer:
    """In-memory lookup over the gazetteer CSVs and border checkpoints in one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._provinces = _load(data_dir / "provinces.csv", Province)
        self._districts = _load(data_dir / "districts.csv", District)
        self._communes = _load(data_dir / "communes.csv", Commune)
        # Single points (OSM, via pumi), not boundaries: enough to draw a province's communes offline.
        # Most communes have none (about 300 of 1,650); nearly every district has one.
        self._points = {
            r["code"]: (float(r["lat"]), float(r["lon"]))
            for name in ("districts.csv", "communes.csv")
            for r in _rows(data_dir / name)
            if r["lat"].strip() and r["lon"].strip()
        }
        self._villages = _load(data_dir / "villages.csv", Village)
        self._checkpoints = {
            r["id"]: Checkpoint(
                id=r["id"],
                name_en=r["name_en"],
                province_code=r["province_code"],
                district_code=r["district_code"],
                commune_code=r["commune_code"],
                village_code=r["village_code"],
                lat=_float_or_none(r["approx_lat"]),
                lon=_float_or_none(r["approx_lon"]),
                thai_counterpart=r["thai_counterpart"],
            )
            for r in _rows(data_dir / "border_checkpoints.csv")
        }
        self._province_list = tuple(sorted(self._provinces.values(), key=lambda p: p.code))
        self._checkpoint_list = tuple(sorted(self._checkpoints.values(), key=lambda c: c.id))
        self._districts_by_province = _group(
            sorted(self._districts.values(), key=lambda d: d.code), lambda d: d.province_code
        )
        self._communes_by_district = _group(
            sorted(self._communes.values(), key=lambda c: c.code), lambda c: c.district_code
        )
        villages = sorted(self._villages.values(), key=lambda v: v.code)
        self._villages_by_commune = _group(villages, lambda v: v.commune_code)
        # Search keys are folded once here so each autocomplete keystroke is a plain scan.
        self._search_all = tuple((v, v.name_en.casefold(), v.name_km) for v in villages)
        self._search_by_province = _group(self._search_all, lambda row: row[0].province_code)

    def province(self, code: str) -> Province | None:
        """Return the province with this 2-digit code, or None."""
        return self._provinces.get(code)

    def district(self, code: str) -> District | None:
        """Return the district with this 4-digit code, or None."""
        return self._districts.get(code)

    def commune(self, code: str) -> Commune | None:
        """Return the commune with this 6-digit code, or None."""
        return self._communes.get(code)

    def area(self, code: str) -> Province | District | Commune | Village | None:
        """The province, district, commune or village a 2-, 4-, 6- or 8-digit code names, or None."""
        lookup = {2: self._provinces, 4: self._districts, 6: self._communes, 8: self._villages}.get(len(code))
        return lookup.get(code) if lookup is not None else None

    def point(self, code: str) -> tuple[float, float] | None:
        """(latitude, longitude) of a district or commune, where the gazetteer has one."""
        return self._points.get(code)

    def village(self, code: str) -> Village | None:
        """Return the village with this 8-digit code, or None."""
        return self._villages.get(code)

    def is_village(self, code: str) -> bool:
        """Return True if the code is a known village code."""
        return code in self._villages

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        """Return the checkpoint with this id (e.g. "KH-TH-01"), or None."""
        return self._checkpoints.get(checkpoint_id)

    def checkpoints(self) -> tuple[Checkpoint, ...]:
        """Return all border checkpoints in id order."""
        return self._checkpoint_list

    def provinces(self) -> tuple[Province, ...]:
        """Return all provinces in code order."""
        return self._province_list

    def districts_of(self, province_code: str) -> tuple[District, ...]:
        """Return the districts of a province in code order (empty if unknown)."""
        return self._districts_by_province.get(province_code, ())

    def communes_of(self, district_code: str) -> tuple[Commune, ...]:
        """Return the communes of a district in code order (empty if unknown)."""
        return self._communes_by_district.get(district_code, ())

    def villages_of(self, commune_code: str) -> tuple[Village, ...]:
        """Return the villages of a commune in code order (empty if unknown)."""
        return self._villages_by_commune.get(commune_code, ())

    def place(self, village_code: str) -> Place:
        """Return the village with its commune, district and province; KeyError if unknown."""
        village = self._villages.get(village_code)
        if village is None:
            raise KeyError(f"unknown village code {village_code!r}")
        return Place(
            village,
            self._communes[village.commune_code],
            self._districts[village.district_code],
            self._provinces[village.province_code],
        )

    def search_villages(self, text: str, province_code: str | None = None, limit: int = 20) -> list[Village]:
        """Return villages whose Latin or Khmer name contains text; name-prefix matches come first."""
        needle = text.strip().casefold()
        if not needle or limit <= 0:
            return []
        pool = self._search_all if province_code is None else self._search_by_province.get(province_code, ())
        starts: list[Village] = []
        contains: list[Village] = []
        for village, name_en, name_km in pool:
            if name_en.startswith(needle) or name_km.startswith(needle):
                starts.append(village)
                if len(starts) == limit:
                    break
            elif len(contains) < limit and (needle in name_en or needle in name_km):
                contains.append(village)
        return (starts + contains)[:limit]


@lru_cache(maxsize=4)
def load_gazetteer(data_dir: Path | None = None) -> Gazetteer:
    """Load (once per directory) the gazetteer shipped with the package, or one from data_dir."""
    return Gazetteer(DEFAULT_DATA_DIR if data_dir is None else Path(data_dir))
