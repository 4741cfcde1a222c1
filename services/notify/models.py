"""Tables of the notify service, in its own database."""

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, computed_field, field_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.notify.domain import check_webhook_url, normalize_phone
from shared.audit import add_audit_table
from shared.db import UtcDateTime
from shared.geo.gazetteer import load_gazetteer
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


def _when(**kwargs) -> Column:
    return Column(UtcDateTime, **kwargs)


class Contact(Table, table=True):
    """Who is alerted for a place: a commune chief (6-digit code), a district or province contact."""

    area_code: str = Field(primary_key=True, max_length=6)
    level: str = Field(max_length=10, index=True)  # commune | district | province
    province_code: str = Field(max_length=2, index=True)
    name: str = Field(max_length=120)
    phone: str = Field(max_length=20, index=True)  # digits with the country code, no '+'
    language: str = Field(default="km", max_length=2)
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=100)
    webhook_disabled: bool = False
    updated_at: datetime = Field(sa_column=_when(nullable=False))


class ContactChange(Table, table=True):
    """One field of a contact changed: who redirected a commune's SMS, from what, and when."""

    __tablename__ = "contact_change"

    id: int | None = Field(default=None, primary_key=True)
    area_code: str = Field(max_length=6)
    at: datetime = Field(sa_column=_when(nullable=False))
    by: str = Field(max_length=200)  # the caller's subject
    field: str = Field(max_length=20)  # name | phone | language | webhook_url | deleted
    old: str | None = Field(default=None, max_length=500)
    new: str | None = Field(default=None, max_length=500)


Index("ix_contact_change_area_at", ContactChange.area_code, ContactChange.at)


class Returnee(Table, table=True):
    """Only what an alert needs of a registration."""

    id: UUID = Field(primary_key=True)
    name_km: str = Field(max_length=200)
    name_latin: str = Field(max_length=200)
    sex: str = Field(max_length=1)
    age_years: int
    village_code: str = Field(max_length=8)
    phone: str | None = Field(default=None, max_length=20)
    policy: str = Field(max_length=10)
    # The registration's correlation id (the tablet's request): its alerts are logged under it.
    correlation_id: str | None = Field(default=None, max_length=64)


class Followup(Table, table=True):
    """The commune's follow-up of one returnee: from dispatch to 14 clear days at home."""

    returnee_id: UUID = Field(primary_key=True)
    code: str = Field(max_length=8, unique=True)  # what the chief types back in a reply
    commune_code: str = Field(max_length=6, index=True)
    village_code: str = Field(max_length=8)
    # expected -> open -> overdue? -> completed
    state: str = Field(default="expected", max_length=12, index=True)
    home_isolation: bool = False
    expected_arrival: datetime | None = Field(default=None, sa_column=_when())
    handed_over_at: datetime | None = Field(default=None, sa_column=_when())
    due_at: datetime | None = Field(default=None, sa_column=_when())
    visited_at: datetime | None = Field(default=None, sa_column=_when())
    last_checkin_at: datetime | None = Field(default=None, sa_column=_when())
    clear_since: datetime | None = Field(default=None, sa_column=_when())
    overdue_at: datetime | None = Field(default=None, sa_column=_when())
    completed_at: datetime | None = Field(default=None, sa_column=_when())
    created_at: datetime = Field(sa_column=_when(nullable=False))


class Delivery(Table, table=True):
    """One alert to one recipient on one channel; the worker moves it queued -> sending -> sent..."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    # reason:returnee[:context]:channel; a replayed event finds its row and adds none.
    dedupe_key: str = Field(max_length=200, unique=True)
    returnee_id: UUID | None = Field(default=None, index=True)
    commune_code: str = Field(max_length=6, index=True)  # the area it concerns, for scope
    recipient_area: str = Field(max_length=6)  # the contact's area code
    reason: str = Field(max_length=20)  # dispatched | handed_over | symptoms | overdue | reply
    channel: str = Field(max_length=10)  # sms | webhook
    context: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    to_phone: str | None = Field(default=None, max_length=20)  # replies go to whoever wrote
    body: str | None = Field(default=None, max_length=400)
    # waiting (for the returnee's registration) -> queued -> sending -> sent -> delivered | failed
    state: str = Field(default="queued", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_when(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=_when())
    sent_at: datetime | None = Field(default=None, sa_column=_when())
    delivered_at: datetime | None = Field(default=None, sa_column=_when())
    dlr_status: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    # The number the last SMS attempt went to: the contact's at the time, which may since have changed.
    sent_to: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(sa_column=_when(nullable=False))


# The worker only scans rows that are due.
Index("ix_delivery_due", Delivery.state, Delivery.next_attempt_at)


class Reply(Table, table=True):
    """Every SMS Kannel forwarded, kept for audit; `message_id` dedupes smsbox's retries."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    message_id: str = Field(max_length=64, unique=True)
    sender: str = Field(max_length=20)
    returnee_id: UUID | None = None
    command: str | None = Field(default=None, max_length=10)
    outcome: str = Field(max_length=20)
    received_at: datetime = Field(sa_column=_when(nullable=False))
    text: str | None = Field(default=None, max_length=500)  # for the officers' screen of unmatched SMS
    # Whose it is to look at: the sender's own area when a contact wrote, else the commune its code named.
    area_code: str | None = Field(default=None, max_length=6)


# What a reply counts before it is taken: the sender's recent wrong replies, the code's wrong senders.
Index("ix_reply_sender_received_at", Reply.sender, Reply.received_at)
Index("ix_reply_returnee_id", Reply.returnee_id)
Index("ix_reply_outcome_received_at", Reply.outcome, Reply.received_at)


# --- API schemas ---------------------------------------------------------------------------------------


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # No control characters: PostgreSQL refuses NUL in text, and the name goes into SMS texts.
    name: str = PydField(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$")
    phone: str
    language: Literal["km", "en"] = "km"
    webhook_url: str | None = PydField(default=None, max_length=500, pattern=r"^[^\x00-\x20\x7f]*$")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_webhook_url(value) if value else None


def _area_names(code: str) -> tuple[str, str]:
    """(Khmer, English) name of a province, district or commune code; the code itself if unknown."""
    unit = load_gazetteer().area(code)
    return (unit.name_km, unit.name_en) if unit else (code, code)


class Named(BaseModel):
    """Adds the names of `area_code` (or `commune_code`), so a screen needs no gazetteer of its own."""

    def _names(self) -> tuple[str, str] | tuple[None, None]:
        code = getattr(self, "area_code", None) or getattr(self, "commune_code", None)
        return _area_names(code) if code else (None, None)

    @computed_field
    @property
    def area_km(self) -> str | None:
        return self._names()[0]

    @computed_field
    @property
    def area_en(self) -> str | None:
        return self._names()[1]


class ContactOut(Named):
    area_code: str
    level: str
    name: str
    phone: str
    language: str
    webhook_url: str | None
    webhook_disabled: bool
    updated_at: datetime | None = None
    # Shown once, when a webhook URL is set: the receiver needs it to verify signatures.
    webhook_secret: str | None = None


class FollowupOut(BaseModel):
    returnee_id: UUID
    code: str
    commune_code: str
    village_code: str
    state: str
    home_isolation: bool
    expected_arrival: datetime | None
    handed_over_at: datetime | None
    due_at: datetime | None
    visited_at: datetime | None
    last_checkin_at: datetime | None
    completed_at: datetime | None


class DeliveryOut(Named):
    id: UUID
    returnee_id: UUID | None
    commune_code: str
    recipient_area: str  # the contact's area: the commune's chief, or its district's or province's
    reason: str
    channel: str
    state: str
    attempts: int
    sent_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    sent_to: str | None = None
    created_at: datetime


class ContactChangeOut(BaseModel):
    at: datetime
    by: str
    field: str
    old: str | None
    new: str | None


class InboundOut(Named):
    """An SMS that came in and matched no follow-up it could act on."""

    id: UUID
    sender: str
    text: str | None
    outcome: str  # unparsed | unknown_code | wrong_sender | locked | throttled
    area_code: str | None
    received_at: datetime


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)
