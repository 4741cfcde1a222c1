"""Tables of the intake service, in its own database, and the shapes its API reads and writes."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)
from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field as Column_
from sqlmodel import SQLModel

from shared.audit import add_audit_table
from shared.contracts.intake import VILLAGE_PATTERN, QuarantinePolicy, Sex, SpecialCare, plain_text
from shared.db import UtcDateTime
from shared.geo.gazetteer import load_gazetteer
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)


class IdDocType(StrEnum):
    national_id = "national_id"
    passport = "passport"
    border_pass = "border_pass"  # noqa: S105 - a document type, not a secret
    thai_work_permit = "thai_work_permit"
    none = "none"


class MigrationStatus(StrEnum):
    """The returnee's status in Thailand, including Thailand's 2020 extension groups 1-4."""

    mou_worker = "mou_worker"
    irregular = "irregular"
    extension_group_1 = "extension_group_1"
    extension_group_2 = "extension_group_2"
    extension_group_3 = "extension_group_3"
    extension_group_4 = "extension_group_4"
    other = "other"


class Symptom(StrEnum):
    fever = "fever"
    cough = "cough"
    sore_throat = "sore_throat"
    shortness_of_breath = "shortness_of_breath"
    loss_of_taste_or_smell = "loss_of_taste_or_smell"
    diarrhoea = "diarrhoea"
    fatigue = "fatigue"
    other = "other"


class Need(StrEnum):
    food = "food"
    water = "water"
    medicine = "medicine"
    shelter = "shelter"


class Registration(Table, table=True):
    """One returnee registered at a checkpoint; a household shares a `household_id` (its head's id)."""

    __tablename__ = "registration"
    __table_args__ = (
        Index("ix_registration_checkpoint_day", "checkpoint_id", "arrival_day"),
        Index("ix_registration_person", "home_village_code", "date_of_birth"),
    )

    id: UUID = Column_(primary_key=True)
    household_id: UUID | None = Column_(default=None, index=True)
    checkpoint_id: str = Column_(max_length=16)
    arrived_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))
    arrival_day: date  # in Cambodia's time zone: the day the statistics count it on
    registered_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))
    updated_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))
    officer: str = Column_(max_length=100)
    name_km: str = Column_(max_length=100)
    name_latin: str = Column_(max_length=100)
    sex: str = Column_(max_length=1)
    date_of_birth: date | None = None
    age_years: int
    phone: str | None = Column_(default=None, max_length=16)
    id_doc_type: str = Column_(max_length=20)
    id_doc_number: str | None = Column_(default=None, max_length=30, index=True)
    home_village_code: str = Column_(max_length=8)
    worked_in: str | None = Column_(default=None, max_length=120)
    migration_status: str | None = Column_(default=None, max_length=20)
    temperature_c: float
    symptoms: list[str] = Column_(default_factory=list, sa_column=Column(JSON, nullable=False))
    test_result: str = Column_(max_length=10)
    special_care: list[str] = Column_(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs: list[str] = Column_(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent: bool
    policy: str = Column_(max_length=10)
    referred: bool = False
    possible_duplicates: list[dict] = Column_(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload_hash: str = Column_(max_length=64)
    version: int = 1


class ExpectedList(Table, table=True):
    """A list the Thai side sent ahead of a crossing: who is expected at a checkpoint on a day."""

    __tablename__ = "expected_list"

    id: UUID = Column_(primary_key=True)
    checkpoint_id: str = Column_(max_length=16, index=True)
    expected_on: date
    source: str = Column_(max_length=100)  # who sent it: a Thai province, an employer, a detention centre
    filename: str = Column_(max_length=200)
    uploaded_by: str = Column_(max_length=100)
    uploaded_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))
    people: int


class ExpectedPerson(Table, table=True):
    """One person of an expected list; `returnee_id` once registered at the checkpoint as this person."""

    __tablename__ = "expected_person"
    __table_args__ = (Index("ix_expected_person_list_line", "list_id", "line"),)

    id: UUID = Column_(primary_key=True)
    list_id: UUID = Column_(foreign_key="expected_list.id")
    line: int  # the row in the file, for whoever checks it against the paper
    name_latin: str | None = Column_(default=None, max_length=100)
    name_km: str | None = Column_(default=None, max_length=100)
    sex: str | None = Column_(default=None, max_length=1)
    age_years: int | None = None
    date_of_birth: date | None = None
    id_doc_number: str | None = Column_(default=None, max_length=30)
    origin: str | None = Column_(default=None, max_length=120)  # where in Thailand they come from
    group_label: str | None = Column_(default=None, max_length=60)  # the bus or group, as the list says
    returnee_id: UUID | None = Column_(default=None, index=True, unique=True)
    arrived_at: datetime | None = Column_(default=None, sa_column=Column(UtcDateTime, nullable=True))


class ColumnMapping(Table, table=True):
    """How one source names its columns, kept so the next list from it needs no mapping."""

    __tablename__ = "column_mapping"

    source: str = Column_(primary_key=True, max_length=100)
    mapping: dict = Column_(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))


class ImportJob(Table, table=True):
    """A spreadsheet of registrations uploaded on the web, imported in the background, with its progress."""

    __tablename__ = "import_job"

    id: UUID = Column_(primary_key=True)
    checkpoint_id: str = Column_(max_length=16, index=True)
    filename: str = Column_(max_length=200)
    started_by: str = Column_(max_length=100)
    started_at: datetime = Column_(sa_column=Column(UtcDateTime, nullable=False))
    finished_at: datetime | None = Column_(default=None, sa_column=Column(UtcDateTime, nullable=True))
    state: str = Column_(default="running", max_length=10)  # running | done | failed
    created: int = 0
    already: int = 0
    rejected: list[dict] = Column_(
        sa_column=Column(JSON, nullable=False)
    )  # [{"lines": [...], "reason": ...}]
    error: str | None = Column_(default=None, max_length=300)


# --- request shapes -------------------------------------------------------------------------------------

_KHMER = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
_PHONE_KH = re.compile(r"^(?:\+?855|0)([1-9]\d{7,8})$")
_PHONE_TH = re.compile(r"^\+?66([1-9]\d{7,8})$")


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _squeeze(value: str) -> str:
    return " ".join(value.split())


def _khmer_name(value: str) -> str:
    value = _squeeze(value)
    if not _KHMER.search(value):
        raise ValueError("must be written in Khmer script")
    return value


def _latin_name(value: str) -> str:
    value = _squeeze(value)
    if not _LATIN_NAME.match(value):
        raise ValueError("must be written in Latin letters")
    return value


def _phone(value: str) -> str:
    """Normalise a Cambodian (or Thai) mobile number to E.164."""
    digits = re.sub(r"[\s\-().]", "", value)
    if m := _PHONE_KH.match(digits):
        return "+855" + m.group(1)
    if m := _PHONE_TH.match(digits):
        return "+66" + m.group(1)
    raise ValueError("must be a Cambodian (+855 / 0...) or Thai (+66) mobile number")


def _known_village(value: str) -> str:
    if not load_gazetteer().is_village(value):
        raise ValueError("unknown village code")
    return value


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


# No control characters in free text: PostgreSQL refuses NUL, and nobody types the others.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# Every free text of a person goes through plain_text first, on every path in (registration, household
# member, correction), so what is stored, compared for duplicates and searched is one form of it.
KhmerName = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=PRINTABLE),
    AfterValidator(plain_text),
    AfterValidator(_khmer_name),
]
LatinName = Annotated[
    str, Field(min_length=1, max_length=100), AfterValidator(plain_text), AfterValidator(_latin_name)
]
Phone = Annotated[
    Annotated[str, Field(max_length=24), AfterValidator(_phone)] | None, BeforeValidator(_blank_to_none)
]
OptionalText = Annotated[
    Annotated[str, Field(max_length=120, pattern=PRINTABLE), AfterValidator(plain_text)] | None,
    BeforeValidator(_blank_to_none),
]
DocNumber = Annotated[
    Annotated[str, Field(max_length=30, pattern=r"^[A-Za-z0-9\-]{3,30}$")] | None,
    BeforeValidator(_blank_to_none),
]
VillageCodeIn = Annotated[str, Field(pattern=VILLAGE_PATTERN), AfterValidator(_known_village)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScreeningIn(_Strict):
    temperature_c: float = Field(ge=30, le=45)
    symptoms: Annotated[list[Symptom], AfterValidator(_unique)] = Field(default=[], max_length=8)
    test_result: Literal["none", "negative", "positive"] = "none"


class PersonIn(_Strict):
    """What is recorded of every person, head of household or member."""

    name_km: KhmerName
    name_latin: LatinName
    sex: Sex
    date_of_birth: date | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    phone: Phone = None
    id_doc_type: IdDocType = IdDocType.none
    id_doc_number: DocNumber = None
    worked_in: OptionalText = None
    migration_status: MigrationStatus | None = None
    screening: ScreeningIn
    special_care: Annotated[list[SpecialCare], AfterValidator(_unique)] = Field(default=[], max_length=6)
    needs: Annotated[list[Need], AfterValidator(_unique)] = Field(default=[], max_length=4)
    consent: bool

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the returnee's consent is required")
        return value

    @field_validator("id_doc_number")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class MemberIn(PersonIn):
    """A household member: their own id; checkpoint, arrival and home village come from the head."""

    id: UUID


class RegistrationIn(PersonIn):
    """A registration made on a tablet; `id` is generated there so a re-sent POST is recognised."""

    id: UUID
    checkpoint_id: str = Field(min_length=1, max_length=16)
    arrived_at: AwareDatetime | None = None
    home_village_code: VillageCodeIn
    members: list[MemberIn] = Field(default=[], max_length=30)
    # The person of an expected list (GET /expected) the officer confirmed this registration as.
    expected_id: UUID | None = None


class CorrectionIn(_Strict):
    """Fields an officer may correct; absent fields stay as they are."""

    expected_version: int | None = Field(default=None, ge=1)
    name_km: KhmerName | None = None
    name_latin: LatinName | None = None
    sex: Sex | None = None
    date_of_birth: date | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    phone: Phone = None
    id_doc_type: IdDocType | None = None
    id_doc_number: DocNumber = None
    home_village_code: VillageCodeIn | None = None
    worked_in: OptionalText = None
    migration_status: MigrationStatus | None = None
    screening: ScreeningIn | None = None
    special_care: Annotated[list[SpecialCare], AfterValidator(_unique)] | None = Field(
        default=None, max_length=6
    )
    needs: Annotated[list[Need], AfterValidator(_unique)] | None = Field(default=None, max_length=4)


# --- response shapes ------------------------------------------------------------------------------------


class DuplicateHint(BaseModel):
    """An earlier registration may be the same person: shown to the officer, never merged.

    It names no record: that one may be another area's (rows stored before this rule lose their ids here).
    """

    reason: Literal["same_id_document", "same_name_birth_village"]
    advice: Literal["a possible duplicate exists; ask the provincial working group"] = (
        "a possible duplicate exists; ask the provincial working group"
    )


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    household_id: UUID | None
    checkpoint_id: str
    arrived_at: datetime
    arrival_day: date
    registered_at: datetime
    name_km: str
    name_latin: str
    sex: Sex
    date_of_birth: date | None
    age_years: int
    phone: str | None
    id_doc_type: IdDocType
    id_doc_number: str | None
    home_village_code: str
    worked_in: str | None
    migration_status: MigrationStatus | None
    screening: ScreeningIn
    special_care: list[SpecialCare]
    needs: list[Need]
    consent: bool
    policy: QuarantinePolicy
    referred: bool
    possible_duplicates: list[DuplicateHint]
    version: int


class HouseholdOut(RegistrationOut):
    """The head's registration, with the members registered in the same request."""

    members: list[RegistrationOut] = []


class RegistrationPage(BaseModel):
    total: int
    items: list[RegistrationOut]


class DayStats(BaseModel):
    checkpoint_id: str
    day: date
    total: int
    female: int
    male: int
    other: int
    referred: int
    households: int
    policy: dict[str, int]
    special_care: dict[str, int]
    needs: dict[str, int]


class ExpectedListOut(BaseModel):
    id: UUID
    checkpoint_id: str
    expected_on: date
    source: str
    filename: str
    uploaded_at: datetime
    people: int


class ExpectedPersonOut(BaseModel):
    id: UUID
    list_id: UUID
    line: int
    name_latin: str | None
    name_km: str | None
    sex: str | None
    age_years: int | None
    date_of_birth: date | None
    id_doc_number: str | None
    origin: str | None
    group_label: str | None
    returnee_id: UUID | None
    arrived_at: datetime | None


class Reconciliation(BaseModel):
    """Expected against arrived, for a list or for a checkpoint's day."""

    expected: int
    arrived: int
    not_yet: int
    arrived_not_expected: int | None = None  # a day's registrations that no list named (for a day only)


class ImportJobOut(BaseModel):
    id: UUID
    checkpoint_id: str
    filename: str
    started_at: datetime
    finished_at: datetime | None
    state: str
    created: int  # people registered so far
    already: int  # people an earlier import (or row) had registered
    rejected: list[dict]  # households refused: their file lines and the reason (the first 1,000)
    error: str | None
