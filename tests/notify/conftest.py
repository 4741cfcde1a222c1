"""Notify under test: the in-process service also served over HTTP, so Kannel can call it back."""

import os
import random
import uuid
from datetime import datetime

import pytest
from sqlalchemy import select

from services.notify.models import Delivery, Followup
from shared.contracts import Event
from shared.contracts.intake import ReturneeRegistered
from shared.contracts.transport import HandedOver, ManifestDispatched
from shared.geo.gazetteer import load_gazetteer
from tests import factories
from tests.conftest import bearer
from tests.waiting import wait_until
from tests.web import free_port, port_answers, serving

ADMIN = bearer(("national_admin", "KH"))
PROVINCE = "01"  # Banteay Meanchey
# deploy/kannel.sh's ports, which a second gateway on the same machine moves (KANNEL_*_PORT).
SENDSMS_PORT = int(os.environ.get("KANNEL_SENDSMS_PORT", "13013"))
ADMIN_PORT = int(os.environ.get("KANNEL_ADMIN_PORT", "13000"))


def phone() -> str:
    """A fresh number per test, so other runs' lines in fakesmsc.log never match."""
    return "8559" + "".join(random.choices("0123456789", k=7))


def villages(commune_index: int = 0):
    """(village, commune) of Banteay Meanchey's communes, by index."""
    gaz = load_gazetteer()
    communes = [c for d in gaz.districts_of(PROVINCE) for c in gaz.communes_of(d.code)]
    commune = communes[commune_index]
    return gaz.villages_of(commune.code)[0], commune


def registered(village_code: str, *, name_km="សុខ ដារ៉ា", name_latin="Sok Dara", policy="home", **kw):
    return factories.registered(
        village=village_code, name_km=name_km, name_latin=name_latin, policy=policy, **kw
    )


def dispatched(*people: ReturneeRegistered, arrival: datetime | None = None) -> ManifestDispatched:
    return factories.dispatched(*people, province=PROVINCE, arrival=arrival)


def handed_over(manifest: ManifestDispatched, person: ReturneeRegistered, at: datetime) -> HandedOver:
    return HandedOver(
        returnee_id=person.returnee_id,
        manifest_id=manifest.manifest_id,
        home_village_code=person.home_village_code,
        handed_over_at=at,
    )


class Notify:
    """The running notify service and what tests do with it."""

    def __init__(self, stack, service, port: int):
        self.stack = stack
        self.service = service
        self.port = port
        self.client = service.client
        self.sent = 0

    @property
    def rt(self):
        return self.service.runtime

    @property
    def worker(self):
        return self.service.app.state.delivery_worker

    async def stop_worker(self) -> None:
        """No worker sends from here on: the test claims and records itself (each commit would wake it)."""
        [loop] = [loop for loop in self.rt.loops if loop.name == "delivery-worker"]
        self.rt.loops.remove(loop)  # nor does the watchdog start it again
        await loop.stop()

    async def publish(self, *events: Event, event_id: str | None = None) -> None:
        """Publish on the stack's topics and wait until notify's consumers took them."""
        await self.stack.publish(self.rt.producer, *events, event_id=event_id)
        self.sent += len(events)
        await wait_until(
            lambda: sum(c.processed for c in self.rt.consumers) >= self.sent,
            what="notify consumed the events",
        )

    async def contact(self, area_code: str, *, phone_number: str, language="km", webhook_url=None) -> dict:
        body = {"name": "Chief", "phone": phone_number, "language": language, "webhook_url": webhook_url}
        r = await self.client.put(f"/contacts/{area_code}", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json()

    async def deliveries(self, **where) -> list[Delivery]:
        async with self.rt.sessions() as session:
            query = select(Delivery).filter_by(**where).order_by(Delivery.created_at)
            return list((await session.scalars(query)).all())

    async def followup(self, returnee_id) -> Followup | None:
        async with self.rt.sessions() as session:
            return await session.get(Followup, returnee_id)

    async def wait_state(self, state: str, timeout: float = 20, **where) -> list[Delivery]:
        async def reached():
            rows = await self.deliveries(**where)
            return rows if rows and all(d.state == state for d in rows) else None

        return await wait_until(reached, timeout=timeout, what=f"deliveries {where} {state}")

    async def inbound(self, sender: str, text: str, message_id: str | None = None):
        """GET the inbound endpoint with the query smsbox's sms-service sends (kannel.conf.template)."""
        params = {
            "secret": self.rt.settings.kannel_inbound_secret,
            "from": sender,
            "to": self.rt.settings.sms_sender,
            "text": text,
            "coding": "0",
            "charset": "UTF-8",
            "id": message_id or str(uuid.uuid4()),
        }
        return await self.client.get("/kannel/inbound", params=params)


FAST = {
    "delivery_poll_seconds": 0.05,
    "delivery_backoff_seconds": 0.2,
    "delivery_backoff_max_seconds": 1.0,
    "webhooks_allow_private": True,
    "webhooks_allow_http": True,  # the receivers of the tests listen on loopback, without TLS
    "scan_interval_seconds": 3600,  # tests run the scanner themselves
    # No defaults in the code: the local Kannel's (deploy/kannel.sh), unless the run passes its own.
    "kannel_send_password": os.environ.get("NOTIFY_KANNEL_SEND_PASSWORD", "notify-secret"),
    "kannel_inbound_secret": os.environ.get("NOTIFY_KANNEL_INBOUND_SECRET", "kannel-inbound-secret"),
    "kannel_status_password": os.environ.get("NOTIFY_KANNEL_STATUS_PASSWORD", "border-admin"),
}


async def start_notify(stack, port: int | None = None, **overrides) -> Notify:
    port = port or free_port()
    settings = {**FAST, "public_url": f"http://127.0.0.1:{port}", **overrides}
    service = await stack.start("notify", **settings)
    return Notify(stack, service, port)


@pytest.fixture
async def notify(stack):
    """Notify in-process, also listening on a free port for Kannel's delivery reports."""
    n = await start_notify(stack)
    async with serving(n.service.app, n.port):
        yield n


@pytest.fixture
def kannel() -> None:
    if not port_answers(SENDSMS_PORT):
        pytest.skip(f"Kannel's sendsms 127.0.0.1:{SENDSMS_PORT} does not answer: start deploy/kannel.sh")
