"""Tables of the quarantine service, in its own database, and the API's request/response schemas."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PydanticField
from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.audit import add_audit_table
from shared.contracts.intake import QuarantinePolicy, SpecialCare, plain_text
from shared.db import UtcDateTime
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)


def _aware(nullable: bool = False) -> Column:
    return Column(UtcDateTime, nullable=nullable)


class Status(StrEnum):
    """Where an episode stands; a referral is a hold on top of it (`Episode.referred`), not a place."""

    waiting = "waiting"  # border policy, no free bed yet
    placed = "placed"  # in a border facility
    awaiting_handover = "awaiting_handover"  # home policy, still on the way home
    home = "home"  # self-isolating at home
    completed = "completed"


ACTIVE = (Status.placed, Status.home)


class SupplyItem(StrEnum):
    food = "food"
    water = "water"
    medicine = "medicine"
    masks = "masks"
    hygiene = "hygiene"


class Facility(Table, table=True):
    """A quarantine site of a border province; `occupancy` counts its placed episodes."""

    __table_args__ = (
        CheckConstraint("occupancy >= 0 AND occupancy <= capacity", name="ck_facility_occupancy"),
        CheckConstraint("capacity >= 0", name="ck_facility_capacity"),
    )

    id: str = Field(primary_key=True, max_length=40)
    province_code: str = Field(index=True, max_length=2)
    name_en: str = Field(max_length=200)
    name_km: str = Field(max_length=200)
    lat: float | None = None
    lon: float | None = None
    capacity: int
    occupancy: int = 0
    special_care: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=_aware())


class Supply(Table, table=True):
    """Stock of one item at one facility; at or below `low_threshold` it is flagged low."""

    facility_id: str = Field(foreign_key="facility.id", primary_key=True, max_length=40)
    item: str = Field(primary_key=True, max_length=20)
    quantity: int
    unit: str = Field(max_length=20)
    low_threshold: int
    updated_at: datetime = Field(sa_column=_aware())


class Episode(Table, table=True):
    """One returnee's quarantine, at a border facility or at home."""

    __table_args__ = (UniqueConstraint("returnee_id", name="uq_episode_returnee"),)

    id: UUID = Field(primary_key=True)
    returnee_id: UUID
    household_id: UUID | None = Field(default=None, index=True)
    mode: str = Field(max_length=10)
    status: str = Field(index=True, max_length=20)
    checkpoint_id: str = Field(max_length=20)
    province_code: str = Field(index=True, max_length=2)  # of the checkpoint: where a bed is sought
    home_village_code: str = Field(index=True, max_length=8)
    # Who the returnee is, for the facility staff who check on them (None until the registration arrives).
    name_km: str | None = Field(default=None, max_length=200)
    name_latin: str | None = Field(default=None, max_length=200)
    sex: str | None = Field(default=None, max_length=1)
    age_years: int | None = None
    special_care: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    facility_id: str | None = Field(default=None, foreign_key="facility.id", index=True, max_length=40)
    waiting_since: datetime | None = Field(default=None, sa_column=_aware(nullable=True))
    starts_on: date | None = None
    ends_on: date | None = None
    completed_on: date | None = None
    referred: bool = False
    referral_reason: str | None = Field(default=None, max_length=200)
    referred_at: datetime | None = Field(default=None, sa_column=_aware(nullable=True))
    cleared_at: datetime | None = Field(default=None, sa_column=_aware(nullable=True))
    cleared_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=_aware())


class Checkin(Table, table=True):
    """A daily health check: by facility staff (with a temperature) or by the commune (SMS, none)."""

    id: int | None = Field(default=None, primary_key=True)
    episode_id: UUID = Field(foreign_key="episode.id", index=True)
    day: int
    recorded_at: datetime = Field(sa_column=_aware())
    temperature_c: float | None = None
    symptoms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    clear: bool
    source: str = Field(max_length=10)  # facility | commune
    recorded_by: str | None = Field(default=None, max_length=100)


# --- API schemas ------------------------------------------------------------------------------------

# Free text: no control characters (PostgreSQL refuses NUL in text, and nobody types the others).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# Typed by staff or a commune chief: one form of it, nothing hidden (the rule of returnees' names).
Symptom = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=PRINTABLE),
    AfterValidator(plain_text),
]
FacilityId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FacilityCreate(_Schema):
    id: FacilityId
    province_code: str = PydanticField(pattern=r"^\d{2}$")
    name_en: str = PydanticField(min_length=1, max_length=200, pattern=PRINTABLE)
    name_km: str = PydanticField(min_length=1, max_length=200, pattern=PRINTABLE)
    lat: float | None = PydanticField(None, ge=9, le=15)  # Cambodia lies within these
    lon: float | None = PydanticField(None, ge=102, le=108)
    capacity: int = PydanticField(ge=1, le=10_000)
    special_care: list[SpecialCare] = []


class SupplyUpdate(_Schema):
    quantity: int = PydanticField(ge=0, le=10_000_000)
    unit: str = PydanticField(min_length=1, max_length=20, pattern=PRINTABLE)
    low_threshold: int = PydanticField(ge=0, le=10_000_000)


class CapacityUpdate(_Schema):
    capacity: int = PydanticField(ge=0, le=10_000)  # 0: the site is closed to new arrivals


class SupplyRead(BaseModel):
    item: str
    quantity: int
    unit: str
    low_threshold: int
    low: bool
    updated_at: datetime


class FacilityRead(BaseModel):
    id: str
    province_code: str
    name_en: str
    name_km: str
    lat: float | None
    lon: float | None
    capacity: int
    occupancy: int
    free: int
    special_care: list[str]
    supplies: list[SupplyRead]
    low_stock: list[str]


class CheckinCreate(_Schema):
    temperature_c: float = PydanticField(ge=34, le=43)
    symptoms: list[Symptom] = PydanticField(default=[], max_length=20)


class CheckinRead(BaseModel):
    day: int
    recorded_at: datetime
    temperature_c: float | None
    symptoms: list[str]
    clear: bool
    source: str


class EpisodeRead(BaseModel):
    id: UUID
    returnee_id: UUID
    household_id: UUID | None
    mode: QuarantinePolicy
    status: Status
    checkpoint_id: str
    province_code: str
    home_village_code: str
    name_km: str | None
    name_latin: str | None
    sex: str | None
    age_years: int | None
    special_care: list[str]
    facility_id: str | None
    waiting_since: datetime | None
    starts_on: date | None
    ends_on: date | None
    completed_on: date | None
    referred: bool
    referred_at: datetime | None
    cleared_at: datetime | None
    day: int | None
    missed_days: list[int]
    # Whether today's day already has a check-in, and the latest one: the staff's round at a glance.
    checked_today: bool
    last_checkin: CheckinRead | None
    release_blocked: str | None


class EpisodeDetail(EpisodeRead):
    checkins: list[CheckinRead]
