"""The whole system in one test: every service in-process on the stack, notify reachable by Kannel.

`Journey` holds the running services and does each step of a returnee's path the way its user would: the
checkpoint officer, the transport officers at both ends, the commune chief's SMS (as smsbox forwards it),
the provincial working group's dashboard.
"""

import random
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta
from urllib.parse import quote_plus, urlencode

import pytest

from services.quarantine import demo
from tests.conftest import bearer
from tests.notify.conftest import SENDSMS_PORT
from tests.waiting import wait_until
from tests.web import free_port, port_answers, serving

POIPET = "KH-TH-01"  # Banteay Meanchey (01)
BORDER_PROVINCE = "01"
HOME_VILLAGE = "14010101"  # Prey Veng (14), district 1401, commune 140101
HOME_COMMUNE = "140101"
HOME_PROVINCE = "14"

OFFICER = bearer(("checkpoint_officer", POIPET), subject="officer-poipet")
ORIGIN_TRANSPORT = bearer(("transport_officer", BORDER_PROVINCE), subject="transport-bmc")
DESTINATION_TRANSPORT = bearer(("transport_officer", HOME_PROVINCE), subject="transport-pv")
PREY_VENG_WG = bearer(("provincial_wg", HOME_PROVINCE), subject="wg-prey-veng")
BATTAMBANG_WG = bearer(("provincial_wg", "02"), subject="wg-battambang")
CHIEF = bearer(("commune_chief", HOME_COMMUNE), subject="chief-140101")
ADMIN = bearer(("national_admin", "KH"), subject="admin")
# Quarantined in Banteay Meanchey, at home in Prey Veng: one reader of both provinces follows the episode.
QUARANTINE_WG = bearer(("provincial_wg", BORDER_PROVINCE), ("provincial_wg", HOME_PROVINCE), subject="wg")

# Khmer consonants: a few of them make a name no earlier run has used.
_CONSONANTS = [chr(c) for c in range(0x1780, 0x17A3)]

# What each service needs to get through a 14-day path in seconds: the scheduler ticks often, release
# needs no facility check-in, and notify's worker polls fast (its scanner is not part of the path).
OVERRIDES = {
    "intake": {},
    "quarantine": {"require_final_checkin": False, "scheduler_seconds": 0.2},
    "transport": {},
    "notify": {"delivery_poll_seconds": 0.05, "scan_interval_seconds": 3600},
    "dashboard": {},
}


def khmer_name() -> str:
    """A Khmer name unique to this run, so log lines and SMS of earlier runs never match it."""
    return "សុខ " + "".join(random.choices(_CONSONANTS, k=6))


def digits(n: int) -> str:
    return "".join(random.choices("0123456789", k=n))


def chief_phone() -> str:
    """A fresh Cambodian number (as Kannel writes it: country code, no '+')."""
    return "8559" + digits(8)


@pytest.fixture
def kannel() -> None:
    if not port_answers(SENDSMS_PORT):
        pytest.skip("Kannel's sendsms 127.0.0.1:13013 does not answer: run `bash deploy/kannel.sh start`")


class Journey:
    """The services of one stack and the steps of one returnee's path through them."""

    def __init__(self, stack, services: dict):
        self.stack = stack
        self.s = services

    def __getattr__(self, name: str):
        try:
            return self.s[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def advance(self, delta: timedelta) -> None:
        """Move every service's clock together, as one deployment's demo clock does."""
        for service in self.s.values():
            service.runtime.clock.advance(delta)

    async def get(self, service: str, path: str, headers: dict, **params) -> dict | list:
        r = await self.s[service].client.get(path, params=params, headers=headers)
        assert r.status_code == 200, f"GET {service}{path}: {r.status_code} {r.text}"
        return r.json()

    async def post(self, service: str, path: str, body: dict, headers: dict, expect: int = 200):
        r = await self.s[service].client.post(path, json=body, headers=headers)
        assert r.status_code == expect, f"POST {service}{path}: {r.status_code} {r.text}"
        return r.json()

    # --- the steps ------------------------------------------------------------------------------------

    def registration(self, *, name_km: str, name_latin: str, phone: str, id_number: str) -> dict:
        """What the Poipet tablet sends for one returnee coming home to Prey Veng."""
        arrived = self.s["intake"].runtime.clock.now() - timedelta(minutes=5)
        return {
            "id": str(uuid.uuid4()),
            "checkpoint_id": POIPET,
            "arrived_at": arrived.isoformat(),
            "home_village_code": HOME_VILLAGE,
            "name_km": name_km,
            "name_latin": name_latin,
            "sex": "F",
            "date_of_birth": "1994-06-02",
            "phone": phone,
            "id_doc_type": "national_id",
            "id_doc_number": id_number,
            "worked_in": "Rayong, fish processing",
            "migration_status": "mou_worker",
            "screening": {"temperature_c": 36.7, "symptoms": [], "test_result": "negative"},
            "special_care": [],
            "needs": ["food", "water"],
            "consent": True,
        }

    async def register(self, body: dict) -> dict:
        return await self.post("intake", "/returnees", body, OFFICER, expect=201)

    async def seed_facilities(self) -> None:
        """The demo sites (two or three per border province), as `border-quarantine seed-demo` adds them."""
        rt = self.quarantine.runtime
        assert await rt.deps.run(demo.add_sites) == len(demo.SITES)

    async def episode(self, returnee_id: str, status: str | None = None) -> dict | None:
        """The returnee's episode as Banteay Meanchey's and Prey Veng's working groups see it."""
        r = await self.quarantine.client.get(f"/returnees/{returnee_id}/episode", headers=QUARANTINE_WG)
        if r.status_code != 200:
            return None
        found = r.json()
        return found if status is None or found["status"] == status else None

    async def add_chief(self, phone: str) -> None:
        """The Prey Veng working group records the chief of the returnee's commune."""
        body = {"name": "Commune chief", "phone": phone, "language": "km", "webhook_url": None}
        r = await self.notify.client.put(f"/contacts/{HOME_COMMUNE}", json=body, headers=PREY_VENG_WG)
        assert r.status_code == 200, r.text

    async def add_vehicle(self) -> dict:
        body = {
            "plate": f"2A-{digits(4)}",
            "seats": 12,
            "driver": "Driver",
            "escort": "Escort",
            "origin_province_code": BORDER_PROVINCE,
        }
        return await self.post("transport", "/vehicles", body, ORIGIN_TRANSPORT, expect=201)

    async def transfer(self, returnee_id: str) -> dict | None:
        """Where transport has the returnee (None until it heard of them)."""
        r = await self.transport.client.get(f"/transfers/{returnee_id}", headers=ORIGIN_TRANSPORT)
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def send_home(self, returnee_id: str) -> dict:
        """Once transport finds them ready: propose, confirm and dispatch the vehicle to Prey Veng."""

        async def ready():
            transfer = await self.transfer(returnee_id)
            return transfer and transfer["ready"]

        await wait_until(ready, timeout=20, what="transport finds the returnee ready to travel")
        proposed = await self.post(
            "transport",
            "/manifests/propose",
            {"origin_province_code": BORDER_PROVINCE},
            ORIGIN_TRANSPORT,
            expect=201,
        )
        [manifest] = proposed["manifests"]
        assert manifest["destination_province_code"] == HOME_PROVINCE
        assert [p["returnee_id"] for p in manifest["passengers"]] == [returnee_id]
        mid = manifest["id"]
        confirmed = await self.post("transport", f"/manifests/{mid}/confirm", {}, ORIGIN_TRANSPORT)
        assert confirmed["status"] == "confirmed"
        dispatched = await self.post(
            "transport", f"/manifests/{mid}/dispatch", {"duration_minutes": 300}, ORIGIN_TRANSPORT
        )
        assert dispatched["status"] == "dispatched"
        return dispatched

    async def hand_over(self, manifest_id: str, returnee_id: str) -> dict:
        """The Prey Veng transport officer records the returnee as handed over at home."""
        body = {"returnee_id": returnee_id, "outcome": "handed_over"}
        return await self.post("transport", f"/manifests/{manifest_id}/arrivals", body, DESTINATION_TRANSPORT)

    async def followup(self, returnee_id: str) -> dict:
        """The follow-up as the commune chief sees it (404 until notify opened it)."""
        r = await self.notify.client.get(f"/followups/{returnee_id}", headers=CHIEF)
        return r.json() if r.status_code == 200 else None

    async def sms_reply(self, sender: str, text: str) -> None:
        """The chief's SMS, as smsbox's sms-service calls notify (kannel.conf.template's get-url)."""
        settings = self.notify.runtime.settings
        query = urlencode(
            {
                "secret": settings.kannel_inbound_secret,
                "from": sender,
                "to": settings.sms_sender,
                "text": text,
                "coding": "0",
                "charset": "UTF-8",
                "id": str(uuid.uuid4()),
            },
            quote_via=quote_plus,
        )
        r = await self.notify.client.get(f"/kannel/inbound?{query}", headers={"User-Agent": "Kannel/1.4.5"})
        assert r.status_code == 200, r.text

    async def summary(self, headers: dict, area: str = "KH") -> dict:
        return await self.get("dashboard", "/stats/summary", headers, area=area)


async def start_journey(stack, exits: AsyncExitStack, **overrides: dict) -> Journey:
    """Every service of the path on the stack; notify also on a real port for Kannel's delivery reports."""
    services = {}
    for name, fast in OVERRIDES.items():
        settings = {**fast, **overrides.get(name, {})}
        if name == "notify":
            port = free_port()
            settings["public_url"] = f"http://127.0.0.1:{port}"
        services[name] = await stack.start(name, **settings)
        if name == "notify":
            await exits.enter_async_context(serving(services[name].app, port))
    return Journey(stack, services)
