"""The alerts held because nobody is listed for their place: notify's screen for districts and provinces."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from services.notify.api import MAX_OFFSET, NotifyDeps
from services.notify.handlers import Uow
from services.notify.models import Delivery, DeliveryOut
from shared.scope import scoped
from shared.web.auth import Principal, Role, require

router = APIRouter(tags=["notify"])

# Those who can add the missing contact, or chase whoever can: not the commune chiefs, who are the missing.
Overseer = Annotated[Principal, require(Role.district_officer, Role.provincial_wg, Role.national_admin)]


class HeldAlertOut(DeliveryOut):
    recipient_area: str  # the commune or district whose contact is missing


async def held_alerts(uow: Uow, *, principal: Principal, limit: int, offset: int) -> list[HeldAlertOut]:
    query = (
        select(Delivery)
        .where(
            Delivery.state == "no_contact",
            scoped(Delivery.commune_code, principal, Role.district_officer, Role.provincial_wg),
        )
        .order_by(Delivery.created_at, Delivery.id)
        .limit(limit)
        .offset(offset)
    )
    return [HeldAlertOut.model_validate(d, from_attributes=True) for d in await uow.session.scalars(query)]


@router.get("/alerts/no-contact", response_model=list[HeldAlertOut])
async def alerts_without_contact(
    deps: NotifyDeps,
    principal: Overseer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Alerts held, oldest first, because their commune or district has no contact: each goes out as soon
    as one is saved (PUT /contacts/{area_code}). Counted in border_notify_deliveries{state="no_contact"}."""
    return await deps.run(held_alerts, principal=principal, limit=limit, offset=offset)
