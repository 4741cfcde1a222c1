"""Events of the intake context (topic `intake.returnee.v1`)."""

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Event
from shared.contracts.topics import RETURNEE

# Khmer keyboards type these as invisible word-break hints (the NiDA layout's space bar gives U+200B;
# ZWNJ and ZWJ only steer a font's ligatures). They are not part of a name, and kept they would make
# "សុខ\u200bចន្ទា" another person than "សុខចន្ទា" to duplicate checks and search: dropped, not refused.
_BREAK_HINTS = dict.fromkeys(map(ord, "\u200b\u200c\u200d"))
# Khmer's two deprecated invisible vowels (Mn, so not caught as Cf): nobody writes them on purpose.
_INVISIBLE_KHMER = frozenset("\u17b4\u17b5")


def plain_text(value: str) -> str:
    """Free text of a person as stored and compared: NFC, word-break hints dropped; any other invisible
    format character (Unicode category Cf: bidi overrides and isolates, BOM, soft hyphen, word joiner...)
    is refused, since it could hide or reorder what the officer reads."""
    value = unicodedata.normalize("NFC", value.translate(_BREAK_HINTS))
    if any(unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_KHMER for ch in value):
        raise ValueError("must not hold invisible format characters (bidi controls, zero-width marks)")
    return value


VillageCode = str  # 8 digits of the NCDD gazetteer, leading zeros kept
VILLAGE_PATTERN = r"^\d{8}$"


class Sex(StrEnum):
    female = "F"
    male = "M"
    other = "X"


class SpecialCare(StrEnum):
    child = "child"
    infant = "infant"
    pregnant = "pregnant"
    ill = "ill"
    elderly = "elderly"
    disability = "disability"


class QuarantinePolicy(StrEnum):
    """Where the 14 days are spent, decided per checkpoint and date at registration."""

    border = "border"
    home = "home"


class Screening(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature_c: float = Field(ge=30, le=45)
    symptoms: list[str] = []
    test_result: Literal["none", "negative", "positive"] = "none"


class _ReturneeSnapshot(Event):
    """What downstream contexts need of a registration, and no more (no ID document, no employer)."""

    topic = RETURNEE

    returnee_id: UUID
    household_id: UUID | None = None
    checkpoint_id: str
    arrived_at: AwareDatetime
    home_village_code: VillageCode = Field(pattern=VILLAGE_PATTERN)
    name_km: str
    name_latin: str
    sex: Sex
    age_years: int = Field(ge=0, le=130)
    phone: str | None = None
    special_care: list[SpecialCare] = []
    screening: Screening
    policy: QuarantinePolicy


class ReturneeRegistered(_ReturneeSnapshot):
    type = "kh.gov.border.returnee.registered.v1"


class ReturneeCorrected(_ReturneeSnapshot):
    type = "kh.gov.border.returnee.corrected.v1"


class ReturneeReferred(Event):
    """Positive screening: the returnee goes to health care and is held out of transport."""

    type = "kh.gov.border.returnee.referred.v1"
    topic = RETURNEE

    returnee_id: UUID
    checkpoint_id: str
    home_village_code: VillageCode = Field(pattern=VILLAGE_PATTERN)
    reason: str
    referred_at: datetime
