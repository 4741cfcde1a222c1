"""The scope half of the authorisation matrix, generated from every service's routes.

Each service runs on the stack with two areas seeded through its own API or the events it consumes (see
`scope_fixtures`). For every route that requires roles and every role it allows, a caller of one area gets
its own objects (2xx, or a documented state answer such as 409) and a 404 for the other area's, changes
nothing there, and finds none of the other area's ids, names or phones in any list, and no other count
than its own in any statistic. A route the tables below do not say how to exercise fails the test.
"""

import random
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from sqlalchemy import true, update

from services.intake import handlers as intake_handlers
from services.intake.domain import cambodia_day
from services.intake.models import Registration
from services.notify.models import Delivery
from services.quarantine import demo
from shared.contracts.intake import QuarantinePolicy, ReturneeReferred, ReturneeRegistered
from shared.contracts.quarantine import QuarantineStarted
from shared.contracts.transport import HandedOver, ManifestDispatched, Passenger
from shared.errors import NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.web.auth import Role, require
from shared.web.service import make_producer
from tests import factories
from tests.access.scope_fixtures import (
    ADMIN,
    BATTAMBANG,
    KAMCHAY_MEAR,
    LOCAL_ROLES,
    PREY_VENG,
    Area,
    Matrix,
    Mutation,
    Place,
    Upload,
    World,
    scoped_routes,
    unclassified,
)
from tests.waiting import wait_until

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def latin_name(prefix: str) -> str:
    """A name no other area or run holds, so finding it anywhere else is a leak."""
    return f"{prefix} " + "".join(random.choices(_LETTERS, k=8)).capitalize()


def phone_digits() -> str:
    return "9" + "".join(random.choices("0123456789", k=7))


def registered(place: Place, now, *, policy: str, name: str, phone: str) -> ReturneeRegistered:
    return factories.registered(
        checkpoint=place.checkpoint,
        village=place.village,
        arrived_at=now,
        name_km="សុខ ដារ៉ា",
        name_latin=name,
        phone=f"+8550{phone}",
        policy=policy,
    )


async def publish(stack, *events) -> None:
    producer = make_producer(stack.infra.kafka)
    await producer.start()
    try:
        await stack.publish(producer, *events)
    finally:
        await producer.stop()


async def admin_get(service, path: str, **params):
    r = await service.client.get(path, headers=ADMIN, params=params)
    return r.json() if r.status_code == 200 else r.status_code


def parting(a: Area, b: Area) -> frozenset[Role]:
    """Every role parts two provinces; within one, only the commune and district roles do."""
    return frozenset(Role) if a.place.province != b.place.province else LOCAL_ROLES


def people(area: Area, events: list[ReturneeRegistered]) -> None:
    """What of these returnees must never show up in the other area's answers."""
    for e in events:
        area.markers |= {str(e.returnee_id), e.name_latin, e.phone[-8:]}
    area.returnees += len(events)


# --- intake: registrations of each checkpoint ------------------------------------------------------------


def intake_registration(area: Area, rt, document: str) -> dict:
    """A registration of the area; every one of a world holds the same ID document and birth date, so each
    after the first finds the others as possible duplicates, the other area's among them."""
    name, phone = latin_name("Matrix"), phone_digits()
    area.markers |= {name, phone}
    return {
        "id": str(uuid.uuid4()),
        "checkpoint_id": area.place.checkpoint,
        "arrived_at": (rt.clock.now() - timedelta(minutes=5)).isoformat(),
        "home_village_code": area.place.village,
        "name_km": "សុខ ដារ៉ា",
        "name_latin": name,
        "sex": "F",
        "date_of_birth": "1996-02-29",
        "id_doc_type": "national_id",
        "id_doc_number": document,
        "phone": f"0{phone}",
        "screening": {"temperature_c": 36.7, "symptoms": [], "test_result": "negative"},
        "consent": True,
    }


async def intake_world(stack, other: Place = BATTAMBANG) -> World:
    svc = await stack.start("intake")
    rt = svc.runtime
    a, b = Area(PREY_VENG), Area(other)
    document = f"N{uuid.uuid4().int % 10**9:09d}"
    today = cambodia_day(rt.clock.now()).isoformat()

    def expected_list(area: Area) -> Upload:
        """A list from the Thai side for the area's checkpoint, naming someone only that area knows."""
        name = latin_name("Listed")
        area.markers.add(name)
        data = {"checkpoint_id": area.place.checkpoint, "expected_on": today, "source": "Matrix office"}
        return Upload(data, {"file": ("list.csv", f"name_latin,sex\n{name},F\n".encode())})

    def paper_import(area: Area) -> Upload:
        """A spreadsheet of registrations whose one row is refused (no consent): a job, and no returnee."""
        row = f"{latin_name('Paper')},F,30,{area.place.village},{today}T08:00,36.5,no"
        csv_text = f"name_latin,sex,age_years,home_village_code,arrived_at,temperature_c,consent\n{row}\n"
        return Upload({"checkpoint_id": area.place.checkpoint}, {"file": ("paper.csv", csv_text.encode())})

    for area, n in ((a, 1), (b, 2)):  # unequal, so a count that mixes the areas shows
        for _ in range(n):
            body = intake_registration(area, rt, document)
            r = await svc.client.post("/returnees", json=body, headers=area.caller(Role.checkpoint_officer))
            assert r.status_code == 201, r.text
            area.markers.add(body["id"])
            area.ids["returnee_id"] = body["id"]
            area.returnees += 1
        upload = expected_list(area)
        r = await svc.client.post(
            "/expected-lists",
            data=upload.data,
            files=upload.files,
            headers=area.caller(Role.checkpoint_officer),
        )
        assert r.status_code == 201, r.text
        area.ids["list_id"] = r.json()["id"]
        upload = paper_import(area)
        r = await svc.client.post(
            "/imports", data=upload.data, files=upload.files, headers=area.caller(Role.checkpoint_officer)
        )
        assert r.status_code == 202, r.text
        area.ids["job_id"] = r.json()["id"]

    async def batch_registered(area: Area, response) -> None:
        [answer] = response.json()
        assert answer["status"] == 201, answer

    async def snapshot(area: Area):
        page = await admin_get(svc, "/returnees", checkpoint_id=area.place.checkpoint)
        return page["total"], sorted((i["id"], i["version"]) for i in page["items"])

    return World(
        svc,
        a,
        b,
        snapshot,
        roles=parting(a, b),
        fixed={"code": "14"},
        queries={
            "GET /gazetteer/search": {"q": "Boeng"},
            "GET /expected": {"day": today, "waiting": "false"},
            "GET /reconciliation": {"day": today},
            "GET /reconciliation.csv": {"day": today},
        },
        unscoped={"GET /gazetteer/provinces/{code}.json": "open data: the gazetteer, for the offline picker"},
        mutations={
            # Registering at a checkpoint not one's own is refused as a field of the body (403).
            "POST /returnees": Mutation(
                lambda area: intake_registration(area, rt, document), outside=403, counted=True
            ),
            "PATCH /returnees/{returnee_id}": Mutation(lambda area: {"worked_in": "Rayong"}),
            # A batch answers 200 and refuses each registration of another checkpoint within (its item's
            # 403): the other area's snapshot, unchanged, is what proves it.
            # A list for a checkpoint not one's own is refused as a field of the form (403).
            "POST /expected-lists": Mutation(expected_list, outside=403),
            "POST /imports": Mutation(paper_import, outside=403),
            "POST /returnees/batch": Mutation(
                lambda area: {"registrations": [intake_registration(area, rt, document)]},
                outside=200,
                counted=True,
                after=batch_registered,
            ),
        },
        counts={
            "GET /returnees": lambda page: page["total"],
            "GET /stats": lambda rows: sum(row["total"] for row in rows),
        },
    )


# --- quarantine: facilities and episodes -----------------------------------------------------------------


async def quarantine_world(stack, other: Place = BATTAMBANG) -> World:
    svc = await stack.start("quarantine", require_final_checkin=False)
    rt = svc.runtime
    await rt.deps.run(demo.add_sites)
    a, b = Area(PREY_VENG), Area(other)
    now = rt.clock.now()
    seeded = {}
    for area in (a, b):
        border = registered(area.place, now, policy="border", name=latin_name("Border"), phone=phone_digits())
        home = registered(area.place, now, policy="home", name=latin_name("Home"), phone=phone_digits())
        people(area, [border, home])
        seeded[area.place.label] = (border, home)
        handed = HandedOver(
            returnee_id=home.returnee_id,
            manifest_id=uuid.uuid4(),
            home_village_code=home.home_village_code,
            handed_over_at=now,
        )
        # Referred at the border: the first clearance of the matrix has a hold to lift.
        referred = ReturneeReferred(
            returnee_id=border.returnee_id,
            checkpoint_id=border.checkpoint_id,
            home_village_code=border.home_village_code,
            reason="fever",
            referred_at=now,
        )
        await publish(stack, border, home, handed, referred)

    def episode(rid, status, referred=False):
        async def reached():
            found = await admin_get(svc, f"/returnees/{rid}/episode")
            if isinstance(found, dict) and found["status"] == status and found["referred"] == referred:
                return found
            return None

        return reached

    for area in (a, b):
        border, home = seeded[area.place.label]
        placed = await wait_until(episode(border.returnee_id, "placed", referred=True), what="a held bed")
        at_home = await wait_until(episode(home.returnee_id, "home"), what="home isolation")
        area.facility = placed["facility_id"]
        area.ids = {"episode_id": placed["id"], "returnee_id": str(border.returnee_id)}
        area.ids["facility_id"] = area.facility
        # Commune chiefs take the check-ins of home isolation only: theirs is the home episode.
        area.ids_by_role[Role.commune_chief] = {
            "episode_id": at_home["id"],
            "returnee_id": str(home.returnee_id),
        }
        area.markers |= {placed["id"], at_home["id"], f"QF-{area.place.border_province}-"}

    async def snapshot(area: Area):
        episodes = [
            await admin_get(svc, f"/episodes/{e}")
            for e in (area.ids["episode_id"], area.ids_by_role[Role.commune_chief]["episode_id"])
        ]
        sites = await admin_get(svc, "/facilities", province_code=area.place.border_province)
        return episodes, sites

    def new_site(area: Area) -> dict:
        code = area.place.border_province
        return {
            "id": f"QF-{code}-M{uuid.uuid4().hex[:6]}",
            "province_code": code,
            "name_en": "Matrix site",
            "name_km": "មណ្ឌល",
            "capacity": 5,
        }

    return World(
        svc,
        a,
        b,
        snapshot,
        roles=parting(a, b),
        fixed={"item": "water"},
        mutations={
            # A new site in a province not one's own is refused as a field of the body (403).
            "POST /facilities": Mutation(new_site, outside=403),
            "PUT /facilities/{facility_id}/supplies/{item}": Mutation(
                lambda area: {"quantity": 40, "unit": "l", "low_threshold": 10}
            ),
            # More beds than any demo site has, so never below the people staying (that is a 409).
            "PUT /facilities/{facility_id}/capacity": Mutation(lambda area: {"capacity": 500}),
            # A second check-in on the same day, or a clearance without a referral, is a 409.
            "POST /episodes/{episode_id}/checkins": Mutation(
                lambda area: {"temperature_c": 36.5}, ok=frozenset({201, 409})
            ),
            "POST /episodes/{episode_id}/clearance": Mutation(lambda area: None, ok=frozenset({200, 409})),
        },
    )


# --- transport: vehicles, manifests and transfers --------------------------------------------------------


async def transport_world(stack, other: Place = BATTAMBANG) -> World:
    svc = await stack.start("transport")
    rt = svc.runtime
    a, b = Area(PREY_VENG), Area(other)
    now = rt.clock.now()
    for area, n in ((a, 1), (b, 2)):
        events = [
            registered(area.place, now, policy="home", name=latin_name("Ride"), phone=phone_digits())
            for _ in range(n)
        ]
        people(area, events)
        await publish(stack, *events)
        area.ids["returnee_id"] = str(events[0].returnee_id)
        area.extra["returnees"] = [str(e.returnee_id) for e in events]
    for area in (a, b):
        officer = area.caller(Role.transport_officer)

        async def ready(rids=area.extra["returnees"]):
            found = [await admin_get(svc, f"/transfers/{rid}") for rid in rids]
            return all(isinstance(t, dict) and t["ready"] for t in found)

        await wait_until(ready, what="transport heard of the returnees")
        r = await svc.client.post("/vehicles", json=vehicle(area), headers=officer)  # for the proposal
        assert r.status_code == 201, r.text
        area.extra["vehicles"] = [r.json()["id"]]
        body = {"origin_province_code": area.place.border_province}
        r = await svc.client.post("/manifests/propose", json=body, headers=officer)
        assert r.status_code == 201, r.text
        [manifest] = r.json()["manifests"]
        area.ids["manifest_id"] = manifest["id"]
        # Three more returnees and vehicles for the manifests made by hand: each call takes its own.
        spare = [
            registered(area.place, now, policy="home", name=latin_name("Hand"), phone=phone_digits())
            for _ in range(3)
        ]
        people(area, spare)
        await publish(stack, *spare)
        area.extra["spare"] = [str(e.returnee_id) for e in spare]
        await wait_until(lambda rids=area.extra["spare"]: ready(rids), what="the spare returnees")
        for _ in range(3):
            r = await svc.client.post("/vehicles", json=vehicle(area), headers=officer)
            assert r.status_code == 201, r.text
            area.extra["vehicles"].append(r.json()["id"])
        area.extra["fleet"] = list(area.extra["vehicles"])
        area.markers |= {manifest["id"], *area.extra["fleet"]}

    async def snapshot(area: Area):
        manifest = await admin_get(svc, f"/manifests/{area.ids['manifest_id']}")
        transfers = [await admin_get(svc, f"/transfers/{rid}") for rid in area.extra["returnees"]]
        fleet = [v for v in await admin_get(svc, "/vehicles") if v["id"] in area.extra["fleet"]]
        return manifest, transfers, fleet

    async def free_spares(area: Area) -> None:
        """The proposals made by the matrix took the spare returnees and vehicles: give them back."""
        for m in await admin_get(svc, "/manifests", status="proposed"):
            if m["id"] != area.ids["manifest_id"] and m["origin_province_code"] == area.place.border_province:
                r = await svc.client.post(f"/manifests/{m['id']}/cancel", headers=ADMIN)
                assert r.status_code == 200, r.text

    async def made(area: Area, response) -> None:
        if response.status_code == 201:
            area.extra["hand_made"] = response.json()["id"]

    def by_hand(area: Area) -> dict:
        return {
            "vehicle_id": area.extra["vehicles"].pop(),
            "destination_province_code": area.place.province,
            "returnee_ids": [area.extra["spare"].pop()],
        }

    # Each step of a manifest's life is tried by every role in turn: a step its state no longer allows
    # (dispatching a cancelled manifest) is a 409, never a 404 on one's own manifest.
    state = frozenset({200, 409})
    return World(
        svc,
        a,
        b,
        snapshot,
        roles=parting(a, b),
        mutations={
            "POST /vehicles": Mutation(vehicle),
            "POST /manifests/propose": Mutation(
                lambda area: {"origin_province_code": area.place.border_province}
            ),
            # Another area's vehicle is a bad field, answered as for one that does not exist (422).
            "POST /manifests": Mutation(by_hand, outside=422, prepare=free_spares, after=made),
            "POST /manifests/{manifest_id}/confirm": Mutation(lambda area: {}, ok=state),
            # Cancelling takes the manifest made by hand: the proposed one goes on to leave and arrive.
            "POST /manifests/{manifest_id}/cancel": Mutation(
                lambda area: {},
                ok=state,
                ids=lambda area: {"manifest_id": area.extra.get("hand_made", area.ids["manifest_id"])},
            ),
            "PUT /manifests/{manifest_id}/supplies": Mutation(lambda area: {"food_rations": 6}, ok=state),
            "POST /manifests/{manifest_id}/dispatch": Mutation(
                lambda area: {"duration_minutes": 300}, ok=state
            ),
            "POST /manifests/{manifest_id}/arrivals": Mutation(
                lambda area: {"returnee_id": area.ids["returnee_id"], "outcome": "handed_over"}, ok=state
            ),
        },
    )


def vehicle(area: Area) -> dict:
    plate = f"2A-{random.randint(1000, 9999)}{random.choice(_LETTERS).upper()}"
    area.markers.add(plate)
    return {
        "plate": plate,
        "seats": 12,
        "driver": "Driver",
        "escort": "Escort",
        "origin_province_code": area.place.border_province,
    }


# --- notify: contacts, follow-ups and deliveries ---------------------------------------------------------


def contact(area: Area) -> dict:
    phone = phone_digits()
    area.markers.add(phone)
    return {"name": "Commune chief", "phone": f"0{phone}", "language": "km", "webhook_url": None}


async def notify_world(stack, other: Place = BATTAMBANG) -> World:
    # Deliveries stay queued: the matrix is about who sees them, not about sending them.
    svc = await stack.start("notify", delivery_poll_seconds=3600, scan_interval_seconds=3600)
    rt = svc.runtime
    a, b = Area(PREY_VENG), Area(other)
    now = rt.clock.now()
    for area in (a, b):
        area.ids["area_code"] = area.place.commune
        r = await svc.client.put(
            f"/contacts/{area.place.commune}", json=contact(area), headers=area.caller(Role.provincial_wg)
        )
        assert r.status_code == 200, r.text
        event = registered(area.place, now, policy="border", name=latin_name("Notify"), phone=phone_digits())
        people(area, [event])
        area.ids["returnee_id"] = str(event.returnee_id)
        trip = ManifestDispatched(
            manifest_id=uuid.uuid4(),
            destination_province_code=area.place.province,
            vehicle_plate="2A-1007",
            dispatched_at=now,
            expected_arrival=now + timedelta(hours=5),
            passengers=[Passenger(returnee_id=event.returnee_id, home_village_code=area.place.village)],
        )
        await publish(stack, event, trip)

    async def give_up(area: Area) -> None:
        """Only a failed delivery is retried: fail the area's alert, as the worker does after its attempts."""
        async with rt.sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == uuid.UUID(area.ids["delivery_id"]))
                .values(state="failed", last_error="matrix")
            )

    for area in (a, b):
        rid = area.ids["returnee_id"]

        async def opened(rid=rid):
            return isinstance(await admin_get(svc, f"/followups/{rid}"), dict)

        async def delivered(rid=rid):
            found = await admin_get(svc, "/deliveries")
            return [d["id"] for d in found if d["returnee_id"] == rid]

        await wait_until(opened, what="the follow-up")
        [area.ids["delivery_id"]] = await wait_until(delivered, what="the chief's alert")
        area.markers.add(area.ids["delivery_id"])
        await give_up(area)

    async def put_back(area: Area) -> None:
        """Each role deletes the contact afresh."""
        r = await svc.client.put(f"/contacts/{area.place.commune}", json=contact(area), headers=ADMIN)
        assert r.status_code == 200, r.text

    async def snapshot(area: Area):
        contacts = [c for c in await admin_get(svc, "/contacts") if c["area_code"] == area.place.commune]
        return (
            contacts,
            await admin_get(svc, f"/followups/{area.ids['returnee_id']}"),
            await admin_get(svc, f"/deliveries/{area.ids['delivery_id']}"),
        )

    return World(
        svc,
        a,
        b,
        snapshot,
        roles=parting(a, b),
        mutations={
            "PUT /contacts/{area_code}": Mutation(contact),
            "DELETE /contacts/{area_code}": Mutation(lambda area: None, prepare=put_back),
            "POST /deliveries/{delivery_id}/retry": Mutation(lambda area: None, prepare=give_up),
        },
    )


# --- dashboard: the read model's statistics --------------------------------------------------------------


async def dashboard_world(stack, other: Place = BATTAMBANG) -> World:
    svc = await stack.start("dashboard")
    rt = svc.runtime
    a, b = Area(PREY_VENG), Area(other)
    now = rt.clock.now()
    for area, n in ((a, 1), (b, 2)):
        events = [
            registered(area.place, now, policy="border", name=latin_name("Dash"), phone=phone_digits())
            for _ in range(n)
        ]
        people(area, events)
        # All of them in the area's first border site, then on one vehicle home.
        site = f"QF-{area.place.border_province}-1"
        started = [
            QuarantineStarted(
                returnee_id=e.returnee_id,
                episode_id=uuid.uuid4(),
                home_village_code=e.home_village_code,
                mode=QuarantinePolicy.border,
                facility_id=site,
                starts_on=rt.clock.today(),
                ends_on=rt.clock.today() + timedelta(days=14),
            )
            for e in events
        ]
        trip = ManifestDispatched(
            manifest_id=uuid.uuid4(),
            destination_province_code=area.place.province,
            vehicle_plate="2A-1007",
            dispatched_at=now,
            expected_arrival=now + timedelta(hours=5),
            passengers=[
                Passenger(returnee_id=e.returnee_id, home_village_code=e.home_village_code) for e in events
            ],
        )
        await publish(stack, *events, *started, trip)
        # Figures name places, not people: the other area's villages, sites and vehicles must not show.
        # Checkpoints do: every one is listed with its last sync, and with the caller's own registrations.
        area.markers |= {area.place.village, site, str(trip.manifest_id), province_name(area.place)}

    async def counted():
        summary = await admin_get(svc, "/stats/summary")
        if not isinstance(summary, dict):
            return False
        return summary["totals"]["received"] == summary["totals"]["transported"] == 3

    await wait_until(counted, what="the read model counted every returnee")

    async def snapshot(area: Area):
        summary = await admin_get(svc, "/stats/summary", area=area.place.province)
        return {k: v for k, v in summary.items() if k != "generated_at"}

    async def rebuilt(area: Area, _response) -> None:
        """The rebuild replays the topics: the next calls need the figures back."""
        await wait_until(counted, what="the read model rebuilt")

    return World(
        svc,
        a,
        b,
        snapshot,
        roles=parting(a, b),
        mutations={"POST /admin/rebuild": Mutation(lambda area: None, after=rebuilt)},
        counts={
            "GET /stats/summary": lambda summary: summary["totals"]["received"],
            "GET /stats/checkpoints": lambda rows: sum(row["registrations"] for row in rows),
            "GET /stats/arrivals": lambda rows: sum(row["count"] for row in rows),
            "GET /stats/areas": lambda rows: sum(row["received"] for row in rows),
            "GET /reports/daily": lambda report: sum(row["received"] for row in report["rows"]),
            "GET /stats/facilities": lambda rows: sum(row["occupancy"] for row in rows),
            "GET /stats/manifests": lambda rows: sum(row["passengers"] for row in rows),
        },
    )


def province_name(place: Place) -> str:
    return load_gazetteer().province(place.province).name_en


# --- identity: the caller's own grants -------------------------------------------------------------------


async def identity_world(stack, other: Place = BATTAMBANG) -> World:
    svc = await stack.start("identity")
    a, b = Area(PREY_VENG), Area(other)
    for area in (a, b):
        area.markers = {area.place.checkpoint}  # in every subject and checkpoint grant of the area

    async def snapshot(area: Area):
        return None

    return World(svc, a, b, snapshot, roles=parting(a, b))


WORLDS = {
    "intake": intake_world,
    "quarantine": quarantine_world,
    "transport": transport_world,
    "notify": notify_world,
    "dashboard": dashboard_world,
    "identity": identity_world,
}


# Every service against another province; those with commune and district readers also against another
# district of the same province.
CASES = [(name, BATTAMBANG) for name in WORLDS] + [
    (name, KAMCHAY_MEAR) for name in ("quarantine", "notify", "dashboard")
]


@pytest.mark.parametrize(
    ("name", "other"), CASES, ids=[f"{n}-{'district' if o is KAMCHAY_MEAR else 'province'}" for n, o in CASES]
)
async def test_every_route_keeps_each_area_to_its_own_callers(stack, name, other):
    world = await WORLDS[name](stack, other)
    matrix = Matrix(world)
    problems = await matrix.run()
    assert not problems, f"{name}: {len(problems)} problems:\n" + "\n".join(problems[:40])
    assert matrix.calls > 0


async def test_the_matrix_finds_a_scope_filter_gone_missing(stack, monkeypatch):
    """Proof that the matrix can fail: intake with its read filter dropped leaks, and the matrix says so."""
    world = await intake_world(stack)
    monkeypatch.setattr(intake_handlers, "_visible", lambda principal: true())
    problems = "\n".join(await Matrix(world).run())
    assert "GET /returnees as provincial_wg of A (Poipet / Prey Veng): leaks B" in problems
    assert (
        "GET /stats as checkpoint_officer of B (Daung / Battambang): counts 5 returnees, expected 2"
        in problems
    )
    assert "GET /returnees/{returnee_id} as checkpoint_officer of A" in problems


async def test_the_matrix_finds_a_404_that_tells_an_object_exists(stack, monkeypatch):
    """Proof of the comparison with a missing id: a 404 worded apart for another area's record is found."""
    world = await intake_world(stack)
    original = intake_handlers.get

    async def telling(uow, *, principal, returnee_id):
        try:
            return await original(uow, principal=principal, returnee_id=returnee_id)
        except NotFound:
            if await uow.session.get(Registration, returnee_id) is not None:
                raise NotFound("registration of another area") from None
            raise

    monkeypatch.setattr(intake_handlers, "get", telling)
    problems = "\n".join(await Matrix(world).run())
    assert (
        "GET /returnees/{returnee_id} as checkpoint_officer of A (Poipet / Prey Veng): the other area's "
        "object is told apart from a missing one" in problems
    ), problems


def test_a_route_the_tables_do_not_know_fails_with_its_name():
    """A new endpoint cannot slip by: the matrix refuses a route it was not told how to exercise."""
    app = FastAPI()

    @app.post("/returnees/{returnee_id}/transfer", dependencies=[require(Role.provincial_wg)])
    async def transfer(returnee_id: str) -> None: ...

    @app.get("/things/{thing_id}", dependencies=[require(Role.provincial_wg)])
    async def thing(thing_id: str) -> None: ...

    world = World(SimpleNamespace(app=app), Area(PREY_VENG), Area(BATTAMBANG), snapshot=None)
    assert unclassified(world, scoped_routes(app)) == [
        "POST /returnees/{returnee_id}/transfer: changes something, but has no entry in the mutations table",
        "GET /things/{thing_id}: no object of the seeded areas for ['thing_id']",
    ]
