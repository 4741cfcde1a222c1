"""Events of the intake context (topic `intake.returnee.v1`)."""

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Event
from shared.contracts.topics import RETURNEE

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
