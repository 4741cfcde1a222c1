"""Tables of the identity service, in its own database."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.audit import add_audit_table
from shared.db import UtcDateTime
from shared.messaging.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


class User(Table, table=True):
    """An officer who logs in; `grants` holds `{"role", "scope"}` pairs."""

    __tablename__ = "app_user"  # `user` is a reserved word in PostgreSQL

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    grants: list[dict] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    password_changed_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # Real time of the last deactivation, password reset or grant change: tokens issued before are revoked.
    tokens_valid_after: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, index=True))


class LoginLock(Table, table=True):
    """Failed logins in a row of one username from one client address, and that pair's lock."""

    __tablename__ = "login_lock"

    username: str = Field(max_length=64, primary_key=True)
    client: str = Field(max_length=64, primary_key=True)
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


metadata = Table.metadata
add_messaging_tables(metadata)
add_audit_table(metadata)
