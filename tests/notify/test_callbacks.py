"""Kannel's callbacks: only from the gateway's address, only with the secret, and no secret in the code."""

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from services.notify.models import Reply
from services.notify.settings import Settings
from tests.conftest import PROD, TEST_PUBLIC_KEY
from tests.notify.conftest import dispatched, phone, registered, start_notify, villages


def client_from(notify, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=notify.service.app, client=(address, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://notify")


async def replies(notify) -> int:
    async with notify.rt.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Reply))


async def _one_alert(notify):
    chief = phone()
    village, commune = villages()
    await notify.contact(commune.code, phone_number=chief)
    person = registered(village.code)
    await notify.publish(person, dispatched(person))
    return chief, person


async def test_callbacks_from_an_address_not_allowed_are_refused_before_the_secret(notify) -> None:
    await notify.stop_worker()  # no SMS goes to a running Kannel, whose own report would come from 127.0.0.1
    chief, person = await _one_alert(notify)
    code = (await notify.followup(person.returnee_id)).code
    [alert] = await notify.deliveries(returnee_id=person.returnee_id, channel="sms")
    secret = notify.rt.settings.kannel_inbound_secret
    async with client_from(notify, "203.0.113.9") as outsider:
        r = await outsider.get(
            "/kannel/inbound", params={"secret": secret, "from": chief, "text": f"VISIT {code}", "id": "m1"}
        )
        assert r.status_code == 403 and "caller" in r.text
        r = await outsider.get("/kannel/dlr", params={"secret": secret, "id": str(alert.id), "status": 1})
        assert r.status_code == 403
        # Refused before the query is even read: no hint whether a secret or an id was right.
        assert (await outsider.get("/kannel/dlr", params={"id": "nope"})).status_code == 403
    assert (await notify.followup(person.returnee_id)).visited_at is None
    assert await replies(notify) == 0
    [after] = await notify.deliveries(id=alert.id)
    assert after.dlr_status is None and after.state != "delivered"
    # The same reply from the gateway's address is taken.
    assert (await notify.inbound(chief, f"VISIT {code}")).status_code == 200
    assert (await notify.followup(person.returnee_id)).visited_at is not None


async def test_the_allow_list_takes_networks_and_host_names(stack) -> None:
    notify = await start_notify(stack, kannel_callback_allow=["192.0.2.0/24", "localhost"])
    params = {"secret": notify.rt.settings.kannel_inbound_secret, "from": phone(), "text": "hello"}
    for address, status in (
        ("192.0.2.7", 200),
        ("127.0.0.1", 200),
        ("192.0.3.1", 403),
        ("::ffff:10.0.0.1", 403),
    ):
        async with client_from(notify, address) as client:
            r = await client.get("/kannel/inbound", params=params)
        assert r.status_code == status, address
    assert await replies(notify) == 2


async def test_an_empty_secret_refuses_every_callback(stack) -> None:
    notify = await start_notify(stack, kannel_inbound_secret="")
    r = await notify.client.get(
        "/kannel/inbound", params={"secret": "", "from": phone(), "text": "OK 12345678"}
    )
    assert r.status_code == 403
    assert await replies(notify) == 0


def test_no_kannel_credential_has_a_default_and_production_needs_them(monkeypatch) -> None:
    for name in ("SEND_PASSWORD", "INBOUND_SECRET", "STATUS_PASSWORD"):
        monkeypatch.delenv(f"NOTIFY_KANNEL_{name}", raising=False)
    settings = Settings(_env_file=None)
    assert (
        settings.kannel_send_password,
        settings.kannel_inbound_secret,
        settings.kannel_status_password,
    ) == (
        "",
        "",
        "",
    )
    assert settings.kannel_callback_allow == ["127.0.0.1", "::1"]
    with pytest.raises(ValidationError, match="KANNEL_INBOUND_SECRET"):
        Settings(
            _env_file=None,
            jwt_key=TEST_PUBLIC_KEY,
            **PROD,
            kannel_send_password="x",
        )
    with pytest.raises(ValidationError, match="KANNEL_SEND_PASSWORD"):
        Settings(
            _env_file=None,
            jwt_key=TEST_PUBLIC_KEY,
            **PROD,
            kannel_inbound_secret="x" * 32,
        )
    Settings(
        _env_file=None,
        jwt_key=TEST_PUBLIC_KEY,
        **PROD,
        kannel_send_password="x",
        kannel_inbound_secret="y",
    )
