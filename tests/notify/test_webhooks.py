"""Webhooks that cannot hold SMS up: a deadline per delivery, a bounded answer, the checked address, https."""

import asyncio
import contextlib
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI, Request, Response

import services.notify.gateways as gateways
from services.notify.gateways import Outcome, Webhooks, check_webhook_target
from services.notify.settings import Settings
from tests.notify.conftest import (
    ADMIN,
    dispatched,
    free_port,
    phone,
    registered,
    serving,
    start_notify,
    villages,
)
from tests.waiting import wait_until

PUBLIC_IP = "93.184.215.14"


class Trickler:
    """A real TCP receiver that answers one byte a second: each read is quick, the answer never ends."""

    def __init__(self, *, body_only: bool = False, pause: float = 1.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.connections = 0
        # body_only: the status line and headers at once, then an endless chunked body as fast as it goes.
        self.body_only, self.pause = body_only, pause

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            if self.body_only:
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                while True:
                    writer.write(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
                    await writer.drain()
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.pause)
        writer.close()

    @contextlib.asynccontextmanager
    async def running(self):
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            server.close()


class FakeKannel:
    """smsbox's sendsms, answering 202 at once."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/cgi-bin/sendsms"
        self.to: list[str] = []
        self.app = FastAPI()

        @self.app.get("/cgi-bin/sendsms")
        async def sendsms(request: Request) -> Response:
            self.to.append(request.query_params["to"])
            return Response("0: Accepted for delivery", status_code=202)


GATEWAY = {"kannel_status_url": "", "dlr_enabled": False}


async def test_a_trickling_webhook_holds_no_sms_and_times_out_at_its_deadline(stack) -> None:
    kannel, hook = FakeKannel(), Trickler()
    notify = await start_notify(
        stack, kannel_sendsms_url=kannel.url, webhook_timeout_seconds=1.5, webhooks_allow_http=True, **GATEWAY
    )
    async with serving(kannel.app, kannel.port), hook.running(), serving(notify.service.app, notify.port):
        (village, commune), (other, commune2) = villages(0), villages(1)
        await notify.contact(commune.code, phone_number=phone(), webhook_url=hook.url)
        await notify.contact(commune2.code, phone_number=phone())
        people = [registered(village.code)] + [registered(other.code) for _ in range(4)]
        started = time.monotonic()
        await notify.publish(*people, dispatched(*people))
        sms = await notify.wait_state("sent", timeout=20, channel="sms")
        assert len(sms) == 5 and len(kannel.to) == 5
        # The receiver is still trickling its 38 bytes (one a second): the SMS did not wait for it.
        [webhook] = await notify.deliveries(channel="webhook")
        assert webhook.state == "sending"
        [webhook] = await wait_until(
            lambda: notify.deliveries(channel="webhook", state="queued", attempts=1), what="webhook timed out"
        )
        assert "deadline" in webhook.last_error
        assert 1.4 < time.monotonic() - started < 6
        await wait_until(lambda: hook.connections >= 2, what="the webhook tried again")


async def test_an_endless_answer_is_not_read() -> None:
    hook = Trickler(body_only=True)
    settings = _settings(webhook_timeout_seconds=3, webhooks_allow_private=True, webhooks_allow_http=True)
    async with hook.running(), asyncio.timeout(10):
        webhooks = Webhooks(settings, httpx.AsyncClient())
        result = await webhooks.send(
            url=hook.url, secret="whsec_" + "A" * 32, message_id=uuid.uuid4(), payload={}
        )
    assert result.outcome is Outcome.accepted


def _settings(**kw) -> Settings:
    # A copy, not validated: production's other checks (keys, passwords) are not what is tested here.
    return Settings().model_copy(update={"webhooks_allow_private": False, "webhooks_allow_http": False, **kw})


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self):
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


async def test_the_webhook_goes_to_the_address_that_was_checked(monkeypatch) -> None:
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(host: str) -> list[str]:
        assert host == "hooks.example.org"
        return next(answers)  # public when checked, loopback from then on

    monkeypatch.setattr(gateways, "_resolve", rebinding)
    transport = Recorder()
    webhooks = Webhooks(_settings(), httpx.AsyncClient(transport=transport))
    url = "https://hooks.example.org:8443/notify?x=1"
    result = await webhooks.send(url=url, secret="whsec_" + "A" * 32, message_id=uuid.uuid4(), payload={})
    assert result.outcome is Outcome.accepted
    [request] = transport.requests
    assert request.url.host == PUBLIC_IP and request.url.port == 8443 and request.url.query == b"x=1"
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"


async def test_a_host_with_any_private_address_is_refused(monkeypatch) -> None:
    async def mixed(host: str) -> list[str]:
        return [PUBLIC_IP, "10.0.0.5"]

    monkeypatch.setattr(gateways, "_resolve", mixed)
    transport = Recorder()
    webhooks = Webhooks(_settings(), httpx.AsyncClient(transport=transport))
    result = await webhooks.send(
        url="https://hooks.example.org/", secret="whsec_" + "A" * 32, message_id=uuid.uuid4(), payload={}
    )
    assert result.outcome is Outcome.failed and "private" in result.error
    assert transport.requests == []


@pytest.mark.parametrize(
    ("environment", "allow_http", "allowed"),
    [("prod", False, False), ("prod", True, False), ("dev", False, False), ("test", True, True)],
)
async def test_plain_http_webhooks_only_where_allowed_outside_production(
    monkeypatch, environment, allow_http, allowed
) -> None:
    async def public(host: str) -> list[str]:
        return [PUBLIC_IP]

    monkeypatch.setattr(gateways, "_resolve", public)
    settings = _settings(environment=environment, webhooks_allow_http=allow_http)
    transport = Recorder()
    webhooks = Webhooks(settings, httpx.AsyncClient(transport=transport))
    result = await webhooks.send(
        url="http://hooks.example.org/", secret="whsec_" + "A" * 32, message_id=uuid.uuid4(), payload={}
    )
    assert (result.outcome is Outcome.accepted) is allowed
    assert len(transport.requests) == int(allowed)
    if not allowed:
        assert "https" in result.error
        with pytest.raises(ValueError, match="https"):
            await check_webhook_target("http://hooks.example.org/", settings)
    await check_webhook_target("https://hooks.example.org/", settings)


async def test_a_contact_with_an_http_webhook_is_refused_and_not_stored(stack) -> None:
    notify = await start_notify(stack, webhooks_allow_http=False)
    _, commune = villages()
    body = {"name": "Chief", "phone": "012345678", "webhook_url": "http://127.0.0.1:9/hook"}
    r = await notify.client.put(f"/contacts/{commune.code}", json=body, headers=ADMIN)
    assert r.status_code == 422 and "https" in r.text
    assert (await notify.client.get("/contacts", headers=ADMIN)).json() == []
    r = await notify.client.put(
        f"/contacts/{commune.code}", json={**body, "webhook_url": "https://127.0.0.1:9/hook"}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
