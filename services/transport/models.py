"""Tables of the transport service, in its own database."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.audit import add_audit_table
from shared.db import UtcDateTime
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


def _when(**kwargs) -> Column:
    return Column(UtcDateTime(), **kwargs)


class Vehicle(Table, table=True):
    """A vehicle the transfer working group of a border province can send home."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    plate: str = Field(max_length=20, unique=True)
    seats: int
    driver: str = Field(max_length=120)
    escort: str = Field(max_length=120)
    origin_province: str = Field(max_length=2, index=True)
    registered_at: datetime = Field(sa_column=_when(nullable=False))


class Transfer(Table, table=True):
    """One returnee's way home; a returnee has exactly one, whatever arrives twice or out of order."""

    returnee_id: UUID = Field(primary_key=True)
    household_id: UUID | None = Field(default=None, index=True)
    registered: bool = False
    policy: str | None = Field(default=None, max_length=10)
    checkpoint_id: str | None = Field(default=None, max_length=20)
    origin_province: str | None = Field(default=None, max_length=2)
    home_village_code: str = Field(max_length=8)
    destination_province: str = Field(max_length=2, index=True)
    destination_district: str = Field(max_length=4)
    name_km: str | None = Field(default=None, max_length=200)
    name_latin: str | None = Field(default=None, max_length=200)
    special_care: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quarantine_completed: bool = False
    held_reason: str | None = Field(default=None, max_length=20)  # referred | symptoms | screening
    # waiting -> assigned -> in_transit -> handed_over | missing
    stage: str = Field(default="waiting", max_length=20)
    ready: bool = False  # kept in step with the fields above by domain.is_ready, for the queue's queries
    ready_since: datetime | None = Field(default=None, sa_column=_when())
    manifest_id: UUID | None = Field(default=None, foreign_key="manifest.id", index=True)
    updated_at: datetime = Field(sa_column=_when(nullable=False))


Index("ix_transfer_queue", Transfer.origin_province, Transfer.ready, Transfer.destination_province)


class Manifest(Table, table=True):
    """One vehicle's trip: proposed -> confirmed -> dispatched -> closed, or cancelled before dispatch."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    vehicle_id: UUID = Field(foreign_key="vehicle.id", index=True)
    origin_province: str = Field(max_length=2, index=True)
    destination_province: str = Field(max_length=2, index=True)
    destination_district: str | None = Field(default=None, max_length=4)
    status: str = Field(default="proposed", max_length=20, index=True)
    supplies: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=_when(nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=_when())
    dispatched_at: datetime | None = Field(default=None, sa_column=_when())
    expected_arrival: datetime | None = Field(default=None, sa_column=_when())
    closed_at: datetime | None = Field(default=None, sa_column=_when())


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)
