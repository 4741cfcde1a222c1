"""Reads of the notify service, each limited to the caller's places."""

from uuid import UUID

from sqlalchemy import func, select

from services.notify.handlers import FAILED, Uow, audit, check_area, contact_out
from services.notify.models import (
    Contact,
    ContactChange,
    ContactChangeOut,
    ContactOut,
    Delivery,
    DeliveryOut,
    Followup,
    FollowupOut,
    InboundOut,
    Reply,
)
from shared.errors import NotFound
from shared.scope import scoped
from shared.web.auth import Principal, Role

GEO_READERS = (Role.commune_chief, Role.district_officer, Role.provincial_wg)


def _scoped(query, column, principal: Principal):
    return query.where(scoped(column, principal, *GEO_READERS))


async def list_contacts(
    uow: Uow, *, principal: Principal, area: str | None, limit: int, offset: int
) -> list[ContactOut]:
    """Contacts of the caller's provinces, optionally under one place."""
    query = select(Contact).order_by(Contact.area_code).limit(limit).offset(offset)
    if not principal.is_national:
        query = query.where(Contact.province_code.in_(principal.scopes(Role.provincial_wg)))
    if area:
        # Another province's place is out of scope: 404, as on the dashboard, not an empty list.
        if not principal.is_national and area[:2] not in principal.scopes(Role.provincial_wg):
            raise NotFound("area not found")
        query = query.where(Contact.area_code.startswith(area))
    rows = (await uow.session.scalars(query)).all()
    await audit(uow, principal, "list", "contact", [c.area_code for c in rows])
    return [contact_out(c) for c in rows]


async def contact_history(uow: Uow, *, principal: Principal, area_code: str) -> list[ContactChangeOut]:
    """Every change of one place's contact, newest first (a deleted contact's too)."""
    check_area(area_code, principal)
    query = (
        select(ContactChange)
        .where(ContactChange.area_code == area_code)
        .order_by(ContactChange.at.desc(), ContactChange.id.desc())
    )
    rows = (await uow.session.scalars(query)).all()
    if not rows:
        raise NotFound("contact not found")
    await audit(uow, principal, "history", "contact", [area_code])
    return [ContactChangeOut.model_validate(c, from_attributes=True) for c in rows]


# Inbound SMS the service could not act on: someone should read them (a chief with a new phone, a typo).
UNMATCHED = (*FAILED, "throttled")


async def unmatched_inbound(uow: Uow, *, principal: Principal, limit: int, offset: int) -> list[InboundOut]:
    """Unmatched SMS of the caller's places, newest first; one from a number of no known place is the
    national administrator's to see."""
    query = (
        select(Reply)
        .where(
            Reply.outcome.in_(UNMATCHED),
            scoped(Reply.area_code, principal, Role.district_officer, Role.provincial_wg),
        )
        .order_by(Reply.received_at.desc(), Reply.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await uow.session.scalars(query)).all()
    await audit(uow, principal, "list", "inbound", [r.id for r in rows])
    return [InboundOut.model_validate(r, from_attributes=True) for r in rows]


async def list_followups(
    uow: Uow, *, principal: Principal, state: str | None, limit: int, offset: int
) -> list[FollowupOut]:
    """Follow-ups of the caller's communes, districts or provinces."""
    query = _scoped(select(Followup), Followup.commune_code, principal)
    if state:
        query = query.where(Followup.state == state)
    query = query.order_by(Followup.created_at.desc()).limit(limit).offset(offset)
    rows = (await uow.session.scalars(query)).all()
    await audit(uow, principal, "list", "followup", [f.returnee_id for f in rows])
    return [FollowupOut.model_validate(f, from_attributes=True) for f in rows]


async def get_followup(uow: Uow, *, principal: Principal, returnee_id: UUID) -> FollowupOut:
    query = _scoped(
        select(Followup).where(Followup.returnee_id == returnee_id), Followup.commune_code, principal
    )
    followup = await uow.session.scalar(query)
    if followup is None:
        raise NotFound("follow-up not found")
    await audit(uow, principal, "read", "followup", [followup.returnee_id])
    return FollowupOut.model_validate(followup, from_attributes=True)


async def list_deliveries(
    uow: Uow,
    *,
    principal: Principal,
    returnee_id: UUID | None,
    state: str | None,
    limit: int,
    offset: int,
) -> list[DeliveryOut]:
    """Alerts and their states in the caller's scope."""
    query = _scoped(select(Delivery), Delivery.commune_code, principal)
    if returnee_id:
        query = query.where(Delivery.returnee_id == returnee_id)
    if state:
        query = query.where(Delivery.state == state)
    query = query.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit).offset(offset)
    rows = (await uow.session.scalars(query)).all()
    await audit(uow, principal, "list", "delivery", [d.id for d in rows])
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]


async def get_delivery(uow: Uow, *, principal: Principal, delivery_id: UUID) -> DeliveryOut:
    query = _scoped(select(Delivery).where(Delivery.id == delivery_id), Delivery.commune_code, principal)
    delivery = await uow.session.scalar(query)
    if delivery is None:
        raise NotFound("delivery not found")
    await audit(uow, principal, "read", "delivery", [delivery.id])
    return DeliveryOut.model_validate(delivery, from_attributes=True)


async def delivery_counts(uow: Uow) -> dict[tuple[str, str], int]:
    """Deliveries by (channel, state)."""
    query = select(Delivery.channel, Delivery.state, func.count()).group_by(Delivery.channel, Delivery.state)
    return {(channel, state): n for channel, state, n in (await uow.session.execute(query)).all()}
