"""HTTP API of the notify service: contacts, follow-ups, deliveries, and Kannel's callbacks."""

import asyncio
import hmac
import ipaddress
import logging
import time
import uuid
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from services.notify import handlers, queries
from services.notify.models import (
    ContactChangeOut,
    ContactIn,
    ContactOut,
    DeliveryOut,
    FollowupOut,
    InboundOut,
)
from services.notify.settings import Settings
from shared.errors import Forbidden, Invalid
from shared.unit_of_work import Deps, get_deps
from shared.web.api_errors import errors
from shared.web.auth import Principal, Role, public, require
from shared.web.pages import page_config, page_messages

log = logging.getLogger(__name__)

router = APIRouter(tags=["notify"])

NotifyDeps = Annotated[Deps[Settings], Depends(get_deps)]

FOLLOWERS = (Role.commune_chief, Role.district_officer, Role.provincial_wg, Role.national_admin)
# Who reads follow-ups and deliveries (scoped to their places) and who keeps the contact lists.
Follower = Annotated[Principal, require(*FOLLOWERS)]
Keeper = Annotated[Principal, require(Role.provincial_wg, Role.national_admin)]
# Those who chase what went wrong: not the commune chiefs, whose own phones these are.
Overseer = Annotated[Principal, require(Role.district_officer, Role.provincial_wg, Role.national_admin)]
# PostgreSQL's OFFSET is a bigint: a larger one would be a server error, not an empty page.
MAX_OFFSET = 1_000_000_000


# --- contacts ------------------------------------------------------------------------------------------


@router.get("/contacts", response_model=list[ContactOut], responses=errors(404))
async def list_contacts(
    deps: NotifyDeps,
    principal: Keeper,
    area: Annotated[str | None, Query(pattern=r"^\d{2}(\d{2}){0,2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Contacts of the caller's provinces, optionally under one place."""
    return await deps.run(queries.list_contacts, principal=principal, area=area, limit=limit, offset=offset)


@router.put("/contacts/{area_code}", response_model=ContactOut, responses=errors(404))
async def put_contact(area_code: str, body: ContactIn, deps: NotifyDeps, principal: Keeper):
    """Create or replace the contact of a commune, district or province; a new webhook gets its secret."""
    return await deps.run(handlers.put_contact, principal=principal, area_code=area_code, data=body)


@router.get("/contacts/{area_code}/history", response_model=list[ContactChangeOut], responses=errors(404))
async def contact_history(area_code: str, deps: NotifyDeps, principal: Keeper):
    """Who changed the place's contact (phone, language, webhook, name, deletion), from what, and when."""
    return await deps.run(queries.contact_history, principal=principal, area_code=area_code)


@router.delete("/contacts/{area_code}", status_code=204, responses=errors(404))
async def delete_contact(area_code: str, deps: NotifyDeps, principal: Keeper) -> Response:
    await deps.run(handlers.delete_contact, principal=principal, area_code=area_code)
    return Response(status_code=204)


# --- follow-ups and deliveries -------------------------------------------------------------------------


@router.get("/followups", response_model=list[FollowupOut])
async def list_followups(
    deps: NotifyDeps,
    principal: Follower,
    state: Annotated[str | None, Query(pattern="^(expected|open|overdue|completed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Follow-ups of the caller's communes, districts or provinces."""
    return await deps.run(
        queries.list_followups, principal=principal, state=state, limit=limit, offset=offset
    )


@router.get("/followups/{returnee_id}", response_model=FollowupOut, responses=errors(404))
async def get_followup(returnee_id: UUID, deps: NotifyDeps, principal: Follower):
    return await deps.run(queries.get_followup, principal=principal, returnee_id=returnee_id)


@router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    deps: NotifyDeps,
    principal: Follower,
    returnee_id: UUID | None = None,
    state: Annotated[str | None, Query(pattern="^(waiting|queued|sending|sent|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """Alerts and their states (waiting for the registration, queued, sending, sent, delivered, failed)
    in the caller's scope."""
    return await deps.run(
        queries.list_deliveries,
        principal=principal,
        returnee_id=returnee_id,
        state=state,
        limit=limit,
        offset=offset,
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, responses=errors(404))
async def get_delivery(delivery_id: UUID, deps: NotifyDeps, principal: Follower):
    return await deps.run(queries.get_delivery, principal=principal, delivery_id=delivery_id)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut, responses=errors(404, 409))
async def retry_delivery(delivery_id: UUID, deps: NotifyDeps, principal: Keeper):
    """Queue a failed delivery again: a person's decision, since a failed SMS may have gone out after all."""
    return await deps.run(handlers.retry_delivery, principal=principal, delivery_id=delivery_id)


@router.get("/inbound", response_model=list[InboundOut])
async def unmatched_inbound(
    deps: NotifyDeps,
    principal: Overseer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """SMS that came in and matched nothing they could act on (no code, an unknown code, a number that is
    not the commune's chief), newest first, in the caller's places."""
    return await deps.run(queries.unmatched_inbound, principal=principal, limit=limit, offset=offset)


# --- the officers' page (its settings are public: they hold no data) -----------------------------------


@router.get("/notify/config.json", dependencies=[public()])
async def notify_page_config(deps: NotifyDeps, request: Request) -> dict:
    """Where the officers' page finds its API and logs in (shared/web/pages.py)."""
    return page_config(request, deps.settings.identity_url)


@router.get("/notify/messages.json", dependencies=[public()])
async def notify_page_messages() -> dict:
    """The page's words in Khmer and English (shared/i18n)."""
    return page_messages("notify")


# --- Kannel's callbacks: from the gateway's address, with the shared secret in the URL ---------------------


class Callers:
    """The addresses allowed to call /kannel/*: IPs and networks as given, host names resolved now and then
    (a restarted container may come back on another address); a name that fails to resolve keeps its last."""

    REFRESH_SECONDS = 60.0

    def __init__(self, allow: list[str]):
        self.fixed: list = []
        self.names: dict[str, list] = {}
        for entry in allow:
            try:
                self.fixed.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names[entry] = []
        self.resolved_at = -self.REFRESH_SECONDS

    async def _resolve(self) -> None:
        loop = asyncio.get_running_loop()
        for name in self.names:
            try:
                infos = await loop.getaddrinfo(name, None)
            except OSError:
                log.warning("kannel_callback_allow: name does not resolve", extra={"host": name})
                continue
            self.names[name] = [ipaddress.ip_network(info[4][0]) for info in infos]
        self.resolved_at = time.monotonic()

    async def allow(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if self.names and time.monotonic() - self.resolved_at > self.REFRESH_SECONDS:
            await self._resolve()
        return any(ip in net for nets in (self.fixed, *self.names.values()) for net in nets)


async def _from_gateway(request: Request, deps: NotifyDeps) -> None:
    """Refuse a caller that is not Kannel before anything of the request is read."""
    callers = getattr(request.app.state, "kannel_callers", None)
    if callers is None:
        callers = request.app.state.kannel_callers = Callers(deps.settings.kannel_callback_allow)
    host = request.client.host if request.client else ""
    if not await callers.allow(host):
        log.warning("kannel callback refused: caller not in kannel_callback_allow", extra={"client": host})
        raise Forbidden("caller: not the SMS gateway")


def _check_secret(settings: Settings, secret: str) -> None:
    if not settings.kannel_inbound_secret:
        log.error("kannel callback refused: NOTIFY_KANNEL_INBOUND_SECRET is not set")
        raise Forbidden("secret: none configured")
    if not hmac.compare_digest(secret.encode(), settings.kannel_inbound_secret.encode()):
        raise Forbidden("secret: wrong or missing")


def _reply_text(request: Request, text: str, charset: str) -> str:
    """smsbox recodes replies to UTF-8; should it ever pass UCS-2 on, decode the raw bytes ourselves."""
    if charset.upper() not in ("UTF-16BE", "UCS-2", "UTF-16"):
        return text
    raw = parse_qs(request.scope["query_string"].decode("latin-1"), encoding="latin-1").get("text", [""])[0]
    return raw.encode("latin-1").decode("utf-16-be", errors="replace")


FROM_GATEWAY = [public(), Depends(_from_gateway)]


@router.get("/kannel/inbound", dependencies=FROM_GATEWAY, responses=errors(403))
async def kannel_inbound(
    request: Request,
    deps: NotifyDeps,
    secret: str = "",
    sender: Annotated[str, Query(alias="from", max_length=32)] = "",
    text: Annotated[str, Query(max_length=2000)] = "",
    message_id: Annotated[str, Query(alias="id", max_length=64)] = "",
    charset: Annotated[str, Query(max_length=20)] = "UTF-8",
) -> Response:
    """A chief's SMS reply forwarded by smsbox (get-url of its sms-service)."""
    _check_secret(deps.settings, secret)
    if not sender:
        raise Invalid(("query", "from"), "missing")
    await deps.run(
        handlers.handle_reply,
        sender=sender,
        text=_reply_text(request, text, charset),
        message_id=message_id or str(uuid.uuid4()),
    )
    # An empty body: the answer goes out as a queued delivery, not as smsbox's reply.
    return Response(status_code=200)


@router.get("/kannel/dlr", dependencies=FROM_GATEWAY, responses=errors(403, 404))
async def kannel_dlr(
    deps: NotifyDeps,
    secret: str = "",
    delivery_id: Annotated[UUID | None, Query(alias="id")] = None,
    dlr_status: Annotated[int, Query(alias="status", ge=0, le=255)] = 0,
) -> Response:
    """One of Kannel's delivery reports for an SMS we sent."""
    _check_secret(deps.settings, secret)
    if delivery_id is None:
        raise Invalid(("query", "id"), "missing")
    await deps.run(handlers.record_delivery_report, delivery_id=delivery_id, status=dlr_status)
    return Response(status_code=200)
