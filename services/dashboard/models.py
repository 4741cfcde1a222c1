"""Tables of the dashboard's read model, in its own database, and the shapes its API answers with.

One row per returnee holds everything the figures need (codes, sex, age group, special care, the day of each
step), so every count is a GROUP BY over one table with the caller's scope in the WHERE clause.
"""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Column, Index, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.audit import add_audit_table
from shared.db import UtcDateTime
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)


def _aware(nullable: bool = True) -> Column:
    return Column(UtcDateTime, nullable=nullable)


_STEP_DAYS = (
    "referred_on",
    "quarantine_on",
    "released_on",
    "transported_on",
    "handed_over_on",
    "visited_on",
    "overdue_on",
)
_ON_ROAD = text("transported_on IS NOT NULL AND handed_over_on IS NULL AND missing_on IS NULL")
_IN_FACILITY = text("facility_id IS NOT NULL AND quarantine_on IS NOT NULL AND released_on IS NULL")


class ReturneeState(Table, table=True):
    """What the read model knows of one returnee; events come in any order, so most fields may be empty."""

    __tablename__ = "returnee_state"
    __table_args__ = (
        Index("ix_returnee_state_province_day", "province_code", "arrival_day"),
        Index("ix_returnee_state_district", "district_code"),
        Index("ix_returnee_state_commune", "commune_code"),
        Index("ix_returnee_state_day_checkpoint", "arrival_day", "checkpoint_id"),
        Index("ix_returnee_state_manifest", "manifest_id"),
        # The report's per-day figures read a few days of each step: one index per step's day.
        *(Index(f"ix_returnee_state_{day}", day) for day in _STEP_DAYS),
        # Only the few still on the road or in a facility are read by the transit and occupancy panels.
        Index(
            "ix_returnee_state_on_road",
            "manifest_id",
            postgresql_where=_ON_ROAD,
            sqlite_where=_ON_ROAD,
        ),
        Index(
            "ix_returnee_state_in_facility",
            "facility_id",
            postgresql_where=_IN_FACILITY,
            sqlite_where=_IN_FACILITY,
        ),
    )

    returnee_id: UUID = Field(primary_key=True)
    # Home address, from any event that carries it (a correction may move it).
    village_code: str = Field(max_length=8)
    commune_code: str = Field(max_length=6)
    district_code: str = Field(max_length=4)
    province_code: str = Field(max_length=2)
    # From the registration (or its corrections).
    registered: bool = False
    checkpoint_id: str | None = Field(default=None, max_length=16)
    arrived_at: datetime | None = Field(default=None, sa_column=_aware())
    arrival_day: date | None = None  # Cambodia's calendar
    sex: str | None = Field(default=None, max_length=1)
    age_group: str | None = Field(default=None, max_length=8)
    policy: str | None = Field(default=None, max_length=10)
    screened: bool = False
    care_child: bool = False
    care_infant: bool = False
    care_pregnant: bool = False
    care_ill: bool = False
    care_elderly: bool = False
    care_disability: bool = False
    # The day each step happened (Cambodia's calendar); None while it has not.
    referred_on: date | None = None
    referral_cleared: bool = False
    waiting_since: date | None = None
    quarantine_mode: str | None = Field(default=None, max_length=10)
    facility_id: str | None = Field(default=None, max_length=40)
    quarantine_on: date | None = None
    released_on: date | None = None
    manifest_id: UUID | None = None
    destination_province_code: str | None = Field(default=None, max_length=2)
    transported_on: date | None = None
    expected_arrival: datetime | None = Field(default=None, sa_column=_aware())
    handed_over_on: date | None = None
    missing_on: date | None = None
    alerted_on: date | None = None
    visited_on: date | None = None
    overdue_on: date | None = None
    completed_on: date | None = None
    status: str = Field(default="registered", max_length=16, index=True)
    last_event_at: datetime | None = Field(default=None, sa_column=_aware())


class CheckpointSync(Table, table=True):
    """When a checkpoint last synced a registration: a row of the report turns stale without one."""

    __tablename__ = "checkpoint_sync"

    checkpoint_id: str = Field(primary_key=True, max_length=16)
    last_sync_at: datetime = Field(sa_column=_aware(nullable=False))


# --- response shapes ------------------------------------------------------------------------------------


class Counts(BaseModel):
    """The figures of the daily situation report."""

    received: int = 0
    screened: int = 0
    referred: int = 0
    in_quarantine: int = 0  # at the end of the period
    released: int = 0
    transported: int = 0
    handed_over: int = 0
    visited: int = 0
    overdue: int = 0


class ReportRow(Counts):
    day: date
    province_code: str
    checkpoint_id: str  # "" when the registration has not reached the read model yet
    stale: bool
    last_sync_at: datetime | None


class AreaRow(Counts):
    """An area's figures; follow-up alerts and completions ride along for the commune tables."""

    alerted: int = 0
    completed: int = 0
    code: str  # "KH" for the nation
    level: str  # nation | province | district | commune
    name_en: str
    name_km: str
    parent: str | None


class MapPoint(BaseModel):
    """A commune on the province map: where it is and what to colour it by."""

    code: str
    name_en: str
    name_km: str
    lat: float
    lon: float
    approximate: bool  # no point of its own: placed around its district's
    received: int
    in_quarantine: int
    visited: int
    overdue: int


class DailyReport(BaseModel):
    since: date
    until: date
    generated_at: datetime
    stale_after_hours: float
    rows: list[ReportRow]
    rollup: list[AreaRow]


class ArrivalRow(BaseModel):
    day: date
    checkpoint_id: str
    count: int


class FacilityRow(BaseModel):
    facility_id: str
    occupancy: int
    # Not in the events yet: quarantine's `QuarantineStarted` would need a `facility_capacity` field.
    capacity: int | None = None


class ManifestRow(BaseModel):
    manifest_id: UUID
    destination_province_code: str | None
    passengers: int
    handed_over: int
    missing: int
    expected_arrival: datetime | None
    overdue: bool


class CheckpointRow(BaseModel):
    checkpoint_id: str
    name_en: str
    province_code: str
    last_sync_at: datetime | None
    registrations: int
    stale: bool


class Summary(BaseModel):
    area: str
    generated_at: datetime
    totals: Counts
    status: dict[str, int]
    sex: dict[str, int]
    age_groups: dict[str, int]
    special_care: dict[str, int]
    followup: dict[str, int]
    transit: dict[str, int]
    facilities: list[FacilityRow]
    manifests: list[ManifestRow]


class ScopeArea(BaseModel):
    code: str
    level: str
    name_en: str
    name_km: str
