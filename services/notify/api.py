"""HTTP API of the notify service: contacts, follow-ups, deliveries, and Kannel's callbacks."""

import hmac
import uuid
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import ColumnElement, delete, false, or_, select

from services.notify import handlers
from services.notify.domain import ERROR_REPLY, level_of
from services.notify.gateways import check_webhook_target
from services.notify.models import (
    Contact,
    ContactIn,
    ContactOut,
    Delivery,
    DeliveryOut,
    Followup,
    FollowupOut,
)
from services.notify.worker import record_delivery_report
from shared.api_errors import errors, invalid
from shared.auth import Principal, Role, public, require
from shared.gazetteer import load_gazetteer
from shared.service import RuntimeDep

router = APIRouter(tags=["notify"])

FOLLOWERS = (Role.commune_chief, Role.district_officer, Role.provincial_wg, Role.national_admin)
GEO_READERS = (Role.commune_chief, Role.district_officer, Role.provincial_wg)
# Who reads follow-ups and deliveries (scoped to their places) and who keeps the contact lists.
Follower = Annotated[Principal, require(*FOLLOWERS)]
Keeper = Annotated[Principal, require(Role.provincial_wg, Role.national_admin)]
# PostgreSQL's OFFSET is a bigint: a larger one would be a server error, not an empty page.
MAX_OFFSET = 1_000_000_000


def _in_scope(column, principal: Principal, roles=GEO_READERS) -> ColumnElement[bool] | None:
    """A WHERE clause limiting `column` (a gazetteer code) to the caller's places; None for the nation."""
    prefixes = principal.geo_prefixes(*roles)
    if prefixes is None:
        return None
    if not prefixes:
        return false()
    return or_(*(column.startswith(p) for p in prefixes))


def _scoped(query, column, principal: Principal, roles=GEO_READERS):
    clause = _in_scope(column, principal, roles)
    return query if clause is None else query.where(clause)


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


# --- contacts ------------------------------------------------------------------------------------------


def _check_area(area_code: str, principal: Principal) -> None:
    """A real place in the caller's province (404 otherwise, as for anything out of scope)."""
    try:
        level = level_of(area_code)
    except ValueError as exc:
        raise invalid("path", "area_code", msg=str(exc)) from exc
    gaz = load_gazetteer()
    known = {"commune": gaz.commune, "district": gaz.district, "province": gaz.province}[level.value]
    if known(area_code) is None:
        raise invalid("path", "area_code", msg="not in the gazetteer")
    if not principal.is_national and area_code[:2] not in principal.scopes(Role.provincial_wg):
        raise _not_found("contact")


def _contact_out(contact: Contact, secret: str | None = None) -> ContactOut:
    return ContactOut.model_validate(contact, from_attributes=True).model_copy(
        update={"webhook_secret": secret}
    )


@router.get("/contacts", response_model=list[ContactOut], responses=errors(404))
async def list_contacts(
    rt: RuntimeDep,
    principal: Keeper,
    area: Annotated[str | None, Query(pattern=r"^\d{2}(\d{2}){0,2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Contacts of the caller's provinces, optionally under one place."""
    query = select(Contact).order_by(Contact.area_code).limit(limit).offset(offset)
    if not principal.is_national:
        query = query.where(Contact.province_code.in_(principal.scopes(Role.provincial_wg)))
    if area:
        # Another province's place is out of scope: 404, as on the dashboard, not an empty list.
        if not principal.is_national and area[:2] not in principal.scopes(Role.provincial_wg):
            raise _not_found("area")
        query = query.where(Contact.area_code.startswith(area))
    async with rt.sessions() as session:
        return [_contact_out(c) for c in (await session.scalars(query)).all()]


@router.put("/contacts/{area_code}", response_model=ContactOut, responses=errors(404))
async def put_contact(
    area_code: str,
    body: ContactIn,
    rt: RuntimeDep,
    principal: Keeper,
):
    """Create or replace the contact of a commune, district or province; a new webhook gets its secret."""
    _check_area(area_code, principal)
    if body.webhook_url:
        try:
            await check_webhook_target(body.webhook_url, allow_private=rt.settings.webhooks_allow_private)
        except ValueError as exc:
            raise invalid("body", "webhook_url", msg=str(exc)) from exc
    async with rt.sessions.begin() as session:
        contact, secret = await handlers.save_contact(
            session, area_code=area_code, data=body, now=rt.clock.now()
        )
    return _contact_out(contact, secret)


@router.delete("/contacts/{area_code}", status_code=204, responses=errors(404))
async def delete_contact(area_code: str, rt: RuntimeDep, principal: Keeper) -> Response:
    _check_area(area_code, principal)
    async with rt.sessions.begin() as session:
        result = await session.execute(delete(Contact).where(Contact.area_code == area_code))
    if not result.rowcount:
        raise _not_found("contact")
    return Response(status_code=204)


# --- follow-ups and deliveries -------------------------------------------------------------------------


@router.get("/followups", response_model=list[FollowupOut])
async def list_followups(
    rt: RuntimeDep,
    principal: Follower,
    state: Annotated[str | None, Query(pattern="^(expected|open|overdue|completed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Follow-ups of the caller's communes, districts or provinces."""
    query = _scoped(select(Followup), Followup.commune_code, principal)
    if state:
        query = query.where(Followup.state == state)
    query = query.order_by(Followup.created_at.desc()).limit(limit).offset(offset)
    async with rt.sessions() as session:
        rows = (await session.scalars(query)).all()
    return [FollowupOut.model_validate(f, from_attributes=True) for f in rows]


@router.get("/followups/{returnee_id}", response_model=FollowupOut, responses=errors(404))
async def get_followup(returnee_id: UUID, rt: RuntimeDep, principal: Follower):
    query = _scoped(
        select(Followup).where(Followup.returnee_id == returnee_id), Followup.commune_code, principal
    )
    async with rt.sessions() as session:
        followup = await session.scalar(query)
    if followup is None:
        raise _not_found("follow-up")
    return FollowupOut.model_validate(followup, from_attributes=True)


@router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    rt: RuntimeDep,
    principal: Follower,
    returnee_id: UUID | None = None,
    state: Annotated[str | None, Query(pattern="^(queued|sending|sent|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Alerts and their states (queued, sending, sent, delivered, failed) in the caller's scope."""
    query = _scoped(select(Delivery), Delivery.commune_code, principal)
    if returnee_id:
        query = query.where(Delivery.returnee_id == returnee_id)
    if state:
        query = query.where(Delivery.state == state)
    query = query.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit).offset(offset)
    async with rt.sessions() as session:
        rows = (await session.scalars(query)).all()
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, responses=errors(404))
async def get_delivery(delivery_id: UUID, rt: RuntimeDep, principal: Follower):
    query = _scoped(select(Delivery).where(Delivery.id == delivery_id), Delivery.commune_code, principal)
    async with rt.sessions() as session:
        delivery = await session.scalar(query)
    if delivery is None:
        raise _not_found("delivery")
    return DeliveryOut.model_validate(delivery, from_attributes=True)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut, responses=errors(404, 409))
async def retry_delivery(delivery_id: UUID, rt: RuntimeDep, principal: Keeper):
    """Queue a failed delivery again: a person's decision, since a failed SMS may have gone out after all."""
    # Only the working group's own provinces: a commune chief's grant held besides opens no retry.
    query = _scoped(
        select(Delivery).where(Delivery.id == delivery_id),
        Delivery.commune_code,
        principal,
        (Role.provincial_wg,),
    )
    async with rt.sessions.begin() as session:
        delivery = await session.scalar(query.with_for_update())
        if delivery is None:
            raise _not_found("delivery")
        if delivery.state != "failed":
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail=f"state: {delivery.state}, only failed is retried"
            )
        delivery.state, delivery.attempts = "queued", 0
        delivery.next_attempt_at, delivery.claimed_at = rt.clock.now(), None
    return DeliveryOut.model_validate(delivery, from_attributes=True)


# --- Kannel's callbacks: authenticated by the shared secret in the URL only ------------------------------


def _check_secret(rt, secret: str) -> None:
    if not hmac.compare_digest(secret.encode(), rt.settings.kannel_inbound_secret.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="secret: wrong or missing")


def _reply_text(request: Request, text: str, charset: str) -> str:
    """smsbox recodes replies to UTF-8; should it ever pass UCS-2 on, decode the raw bytes ourselves."""
    if charset.upper() not in ("UTF-16BE", "UCS-2", "UTF-16"):
        return text
    raw = parse_qs(request.scope["query_string"].decode("latin-1"), encoding="latin-1").get("text", [""])[0]
    return raw.encode("latin-1").decode("utf-16-be", errors="replace")


@router.get("/kannel/inbound", dependencies=[public()], responses=errors(403))
async def kannel_inbound(
    request: Request,
    rt: RuntimeDep,
    secret: str = "",
    sender: Annotated[str, Query(alias="from", max_length=32)] = "",
    text: Annotated[str, Query(max_length=2000)] = "",
    message_id: Annotated[str, Query(alias="id", max_length=64)] = "",
    charset: Annotated[str, Query(max_length=20)] = "UTF-8",
) -> Response:
    """A chief's SMS reply forwarded by smsbox (get-url of its sms-service)."""
    _check_secret(rt, secret)
    if not sender:
        raise invalid("query", "from", msg="missing")
    await handlers.handle_reply(
        rt.sessions,
        sender=sender,
        text=_reply_text(request, text, charset),
        message_id=message_id or str(uuid.uuid4()),
        now=rt.clock.now(),
        source=rt.source,
        error_text=ERROR_REPLY,
    )
    # An empty body: the answer goes out as a queued delivery, not as smsbox's reply.
    return Response(status_code=200)


@router.get("/kannel/dlr", dependencies=[public()], responses=errors(403, 404))
async def kannel_dlr(
    rt: RuntimeDep,
    secret: str = "",
    delivery_id: Annotated[UUID | None, Query(alias="id")] = None,
    dlr_status: Annotated[int, Query(alias="status", ge=0, le=255)] = 0,
) -> Response:
    """One of Kannel's delivery reports for an SMS we sent."""
    _check_secret(rt, secret)
    if delivery_id is None:
        raise invalid("query", "id", msg="missing")
    known = await record_delivery_report(
        rt.sessions, delivery_id=delivery_id, status=dlr_status, now=rt.clock.now(), source=rt.source
    )
    if not known:
        raise _not_found("delivery")
    return Response(status_code=200)
