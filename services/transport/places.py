"""Where transfers start and end, from the gazetteer shipped with the product."""

import csv
from functools import lru_cache

from shared.geo.gazetteer import DEFAULT_DATA_DIR, load_gazetteer


def origin_of(checkpoint_id: str) -> str | None:
    """The province of a border checkpoint, where its returnees board; None for an unknown checkpoint."""
    checkpoint = load_gazetteer().checkpoint(checkpoint_id)
    return checkpoint.province_code if checkpoint else None


@lru_cache(maxsize=1)
def _centres() -> dict[str, tuple[float, float]]:
    with (DEFAULT_DATA_DIR / "provinces.csv").open(encoding="utf-8") as f:
        return {
            r["code"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f) if r["lat"] and r["lon"]
        }


def centre(province_code: str) -> tuple[float, float] | None:
    """An approximate centre of a province, for trip estimates."""
    return _centres().get(province_code)


def province_names(code: str) -> dict[str, str]:
    """The province's names in Khmer and English (the code itself when unknown)."""
    province = load_gazetteer().province(code)
    return {"km": province.name_km, "en": province.name_en} if province else {"km": code, "en": code}
