"""The audit trail: who read or changed which record, when and from where; ids only.

Each service keeps its own `audit_log` table (`add_audit_table(metadata)` in models.py, a revision
calling `create_audit_table()`), writes to it with `record_access(...)` in the same transaction as
the read or change, and serves it to the national administrator with `audit_router()`.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from shared.db import UtcDateTime, as_utc
from shared.errors import Invalid
from shared.unit_of_work import DepsDep, Origin, UnitOfWork
from shared.web.auth import Principal, Role, require

_metadata = MetaData()

audit_log = Table(
    "audit_log",
    _metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("grants", JSON, nullable=False),  # the caller's role:scope list at the time
    Column("action", String(40), nullable=False),
    Column("object_type", String(60), nullable=False),
    Column("object_id", String(64)),
    # The route template (`GET /returnees/{returnee_id}`), never the raw path or query string.
    Column("route", String(200)),
    Column("client_ip", String(64)),
    Column("user_agent", String(300)),
)
Index("ix_audit_log_subject_at", audit_log.c.subject, audit_log.c.at)
Index("ix_audit_log_object_at", audit_log.c.object_id, audit_log.c.at)
Index("ix_audit_log_at", audit_log.c.at)


def add_audit_table(metadata: MetaData) -> None:
    """Give a service's metadata its own copy of the audit table, for its migrations."""
    audit_log.to_metadata(metadata)


def create_audit_table() -> None:
    """Create the audit table and its indexes; call it from a service's alembic revision."""
    from alembic import op

    audit_log.create(op.get_bind())


def drop_audit_table() -> None:
    from alembic import op

    audit_log.drop(op.get_bind())


def _utc_query(name: str, moment: datetime | None) -> datetime | None:
    """A query's time in UTC; one too near year 1 or 9999 to convert is a 422 naming the parameter."""
    try:
        return as_utc(moment) if moment else None
    except OverflowError as exc:
        raise Invalid(("query", name), "date out of range") from exc


async def record_access(
    uow: UnitOfWork, *, principal: Principal, action: str, object_type: str, object_id: object | None
) -> None:
    """Add one audit row to the use case's transaction: it commits, or rolls back, with the access."""
    await record_accesses(
        uow, principal=principal, action=action, object_type=object_type, object_ids=[object_id]
    )


async def record_accesses(
    uow: UnitOfWork, *, principal: Principal, action: str, object_type: str, object_ids: Iterable[object]
) -> None:
    """One audit row per object a list or search showed, in one statement of the use case's transaction."""
    origin = uow.origin or Origin()
    common = dict(
        at=uow.now(),
        subject=principal.subject,
        grants=[f"{g.role.value}:{g.scope}" for g in principal.grants],
        action=action,
        object_type=object_type,
        route=origin.route,
        client_ip=origin.client_ip,
        user_agent=origin.user_agent,
    )
    rows = [common | {"object_id": None if i is None else str(i)} for i in object_ids]
    if rows:
        await uow.session.execute(insert(audit_log), rows)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    subject: str
    grants: list[str]
    action: str
    object_type: str
    object_id: str | None
    route: str | None
    client_ip: str | None
    user_agent: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    # Pass it back as `before` for the next (older) page; null on the last page.
    next_before: int | None


async def read_trail(
    uow: UnitOfWork,
    *,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
    **equal: str | None,
) -> AuditPage:
    """The trail, newest first, filtered by equality on `equal` (subject, object_id, ...) and time."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit + 1)
    for name, value in equal.items():
        if value is not None:
            query = query.where(audit_log.c[name] == value)
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    if before:
        query = query.where(audit_log.c.id < before)
    rows = (await uow.session.execute(query)).mappings().all()
    items = [AuditEntry.model_validate(dict(r)) for r in rows[:limit]]
    return AuditPage(items=items, next_before=items[-1].id if len(rows) > limit else None)


def audit_router() -> APIRouter:
    """`GET /audit`: the trail, newest first, for the national administrator only."""
    router = APIRouter(tags=["audit"])
    # Filters go to the database: no control characters (PostgreSQL refuses NUL), ids within a bigint.
    filter_text = Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")

    @router.get("/audit", response_model=AuditPage)
    async def read_audit(
        deps: DepsDep,
        _: Annotated[Principal, require(Role.national_admin)],
        subject: Annotated[str | None, filter_text] = None,
        object_id: Annotated[str | None, filter_text] = None,
        object_type: Annotated[str | None, filter_text] = None,
        action: Annotated[str | None, filter_text] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: Annotated[
            int | None, Query(gt=0, le=2**63 - 1, description="id cursor from `next_before`")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPage:
        since, until = _utc_query("since", since), _utc_query("until", until)
        if since and until and since > until:
            raise Invalid(("query", "since"), "must not be after until")
        return await deps.run(
            read_trail,
            since=since,
            until=until,
            before=before,
            limit=limit,
            subject=subject,
            object_id=object_id,
            object_type=object_type,
            action=action,
        )

    return router
