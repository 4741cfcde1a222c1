"""The alerts held because nobody is listed for their place: notify's screen for districts and provinces."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from services.notify.api import MAX_OFFSET, NotifyDeps, Overseer
from services.notify.handlers import Uow
from services.notify.models import Delivery, DeliveryOut
from shared.scope import scoped
from shared.web.auth import Principal, Role

router = APIRouter(tags=["notify"])


async def held_alerts(uow: Uow, *, principal: Principal, limit: int, offset: int) -> list[DeliveryOut]:
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
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in await uow.session.scalars(query)]


@router.get("/alerts/no-contact", response_model=list[DeliveryOut])
async def alerts_without_contact(
    deps: NotifyDeps,
    principal: Overseer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Alerts held, oldest first, because their commune or district has no contact: each goes out as soon
    as one is saved (PUT /contacts/{area_code}). Counted in border_notify_deliveries{state="no_contact"}."""
    return await deps.run(held_alerts, principal=principal, limit=limit, offset=offset)
