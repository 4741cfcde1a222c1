"""The two ways out: Kannel's sendsms for SMS, signed HTTP POSTs for webhooks (Standard Webhooks)."""

import asyncio
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from standardwebhooks import Webhook
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.notify.domain import check_webhook_url, is_public_address
from services.notify.metrics import parse_kannel_status
from services.notify.settings import Settings


class Outcome(StrEnum):
    accepted = "accepted"  # the gateway or receiver took it
    retry = "retry"  # certainly not taken: try again later
    failed = "failed"  # refused for good
    unknown = "unknown"  # maybe taken (timeout after the request went out): an SMS waits for its report
    gone = "gone"  # the webhook answered 410: disable the endpoint


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str | None = None


async def kannel_queues(settings: Settings, client: httpx.AsyncClient) -> dict[str, int] | None:
    """Queue lengths from bearerbox's status page; None when it does not answer."""
    try:
        r = await client.get(
            settings.kannel_status_url, params={"password": settings.kannel_status_password}, timeout=2
        )
        r.raise_for_status()
    except httpx.HTTPError:
        return None
    return parse_kannel_status(r.text) or None


class Kannel:
    """smsbox's sendsms interface."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient):
        self.settings = settings
        self.client = client

    async def idle(self) -> bool:
        """Kannel answers and holds no SMS on its way out: whatever it took has reached the SMS centre."""
        if not self.settings.kannel_status_url:
            return True  # no status page to ask: delivery reports alone decide
        queues = await kannel_queues(self.settings, self.client)
        return queues is not None and queues.get("outbound", 1) == 0 and queues.get("store", 1) == 0

    def dlr_url(self, delivery_id: UUID) -> str:
        # %d is Kannel's report type (1 delivered, 2 failed, 8 accepted by the SMSC, 16 rejected).
        s = self.settings
        return f"{s.public_url}/kannel/dlr?secret={s.kannel_inbound_secret}&id={delivery_id}&status=%d"

    def params(self, *, to: str, text: str, delivery_id: UUID) -> dict[str, str]:
        s = self.settings
        params = {
            "username": s.kannel_send_user,
            "password": s.kannel_send_password,
            "from": s.sms_sender,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            "coding": "2",  # UCS-2 on the air, or Khmer arrives as '?'
        }
        if s.dlr_enabled:
            params["dlr-mask"] = str(s.dlr_mask)
            params["dlr-url"] = self.dlr_url(delivery_id)
        return params

    async def send(self, *, to: str, text: str, delivery_id: UUID) -> Result:
        try:
            # Only a refused connection is retried at once: the request certainly never left.
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(httpx.ConnectError),
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.1, max=1),
                reraise=True,
            ):
                with attempt:
                    resp = await self.client.get(
                        self.settings.kannel_sendsms_url,
                        params=self.params(to=to, text=text, delivery_id=delivery_id),
                    )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            return Result(Outcome.retry, "gateway unreachable")
        except httpx.HTTPError as exc:
            return Result(Outcome.unknown, f"gateway {type(exc).__name__}: outcome unknown")
        if resp.status_code in (200, 202):
            return Result(Outcome.accepted)
        if resp.status_code >= 500 or resp.status_code == 503:
            return Result(Outcome.retry, f"gateway answered {resp.status_code}")
        return Result(Outcome.failed, f"gateway refused: {resp.status_code}")


async def _resolve(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def http_allowed(settings: Settings) -> bool:
    """Plain http carries names and villages in clear: only on an explicit setting, never in production."""
    return settings.webhooks_allow_http and settings.environment != "prod"


async def check_webhook_target(url: str, settings: Settings) -> str:
    """The address to connect to, checked; ValueError for a malformed URL, plain http where not allowed,
    or a host with any private address (unless allowed)."""
    check_webhook_url(url)
    if urlsplit(url).scheme != "https" and not http_allowed(settings):
        raise ValueError("webhook_url must use https")
    host = urlsplit(url).hostname or ""
    try:
        addresses = await _resolve(host)
    except OSError as exc:
        raise ValueError("webhook_url host does not resolve") from exc
    if not addresses:
        raise ValueError("webhook_url host does not resolve")
    if not settings.webhooks_allow_private and not all(is_public_address(a) for a in addresses):
        raise ValueError("webhook_url points to a private or loopback address")
    return addresses[0]


def _pinned(url: str, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL with its host replaced by the checked address, and the Host header and TLS name that keep
    the receiver's name: a second lookup at connect time could answer differently (DNS rebinding)."""
    original = httpx.URL(url)
    host = original.host
    netloc = f"{host}:{original.port}" if original.port else host
    return original.copy_with(host=address), {"host": netloc}, {"sni_hostname": host}


class Webhooks:
    """POSTs signed per Standard Webhooks; redirects are never followed."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient):
        self.settings = settings
        self.client = client

    async def send(self, *, url: str, secret: str, message_id: UUID, payload: dict) -> Result:
        try:
            # Checked at every send too: DNS may have changed since the URL was saved.
            address = await check_webhook_target(url, self.settings)
        except ValueError as exc:
            return Result(Outcome.failed, str(exc))
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        # The spec's replay window is checked against the receiver's wall clock, not the demo clock.
        stamp = datetime.now(UTC)
        target, host, extensions = _pinned(url, address)
        headers = {
            **host,
            "content-type": "application/json",
            "webhook-id": str(message_id),
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": Webhook(secret).sign(str(message_id), stamp, body),
        }
        request = self.client.build_request(
            "POST", target, content=body.encode(), headers=headers, extensions=extensions
        )
        try:
            # One deadline for connect, send and answer: httpx's timeouts are per read, so a receiver
            # trickling a byte a second would never trip them. The body is never read, only the status.
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                resp = await self.client.send(request, follow_redirects=False, stream=True)
                await resp.aclose()
        except TimeoutError:
            # A receiver dedupes on webhook-id, so an unclear outcome is safe to retry.
            return Result(Outcome.retry, "webhook past its deadline")
        except httpx.HTTPError as exc:
            return Result(Outcome.retry, f"webhook {type(exc).__name__}")
        if 200 <= resp.status_code < 300:
            return Result(Outcome.accepted)
        if resp.status_code == 410:
            return Result(Outcome.gone, "webhook answered 410: endpoint disabled")
        if 300 <= resp.status_code < 400:
            return Result(Outcome.failed, f"webhook redirected ({resp.status_code}); not followed")
        return Result(Outcome.retry, f"webhook answered {resp.status_code}")
