"""HTTP API of the transport service.

Scope: a `transport_officer` holds a province code. At the origin (the border province) they register
vehicles and propose, confirm, supply, cancel and dispatch manifests; at the destination they record the
hand-over. `provincial_wg` reads transfers from or to its province; `national_admin` does everything.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.transport import handlers, printing, queries
from services.transport.handlers import ManifestView, Scope
from services.transport.places import province_names
from services.transport.settings import Settings
from shared.contracts.intake import plain_text
from shared.errors import NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import Deps, OriginDep, get_deps
from shared.web.api_errors import errors
from shared.web.auth import Principal, Role, public, require
from shared.web.pages import page_config as origin_config
from shared.web.pages import page_messages

router = APIRouter(tags=["transport"])

TransportDeps = Annotated[Deps[Settings], Depends(get_deps)]

Officer = Annotated[Principal, require(Role.transport_officer, Role.national_admin)]
Reader = Annotated[Principal, require(Role.transport_officer, Role.provincial_wg, Role.national_admin)]
PROVINCE = r"^\d{2}$"
# Free text goes to PostgreSQL and onto paper manifests: no control characters (NUL is refused by the DB).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# A name on a paper manifest: one form of it, nothing hidden (the rule of returnees' names).
PersonName = Annotated[
    str, Field(min_length=1, max_length=120, pattern=PRINTABLE), AfterValidator(plain_text)
]


def acting(principal: Principal) -> Scope:
    """Provinces the caller acts for (None: the whole nation)."""
    return principal.geo_prefixes(Role.transport_officer)


def reading(principal: Principal) -> Scope:
    return principal.geo_prefixes(Role.transport_officer, Role.provincial_wg)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _known_province(code: str) -> str:
    if load_gazetteer().province(code) is None:
        raise ValueError("unknown province code")
    return code


class VehicleIn(_In):
    plate: str = Field(min_length=2, max_length=20, pattern=r"^[0-9A-Za-z\u1780-\u17FF .-]+$")
    seats: int = Field(ge=1, le=80)
    driver: PersonName
    escort: PersonName
    origin_province_code: str = Field(pattern=PROVINCE)

    _province = field_validator("origin_province_code")(_known_province)


class VehicleOut(BaseModel):
    id: UUID
    plate: str
    seats: int
    driver: str
    escort: str
    origin_province_code: str
    busy: str | None = None  # the status of the manifest holding it


class ProposeIn(_In):
    origin_province_code: str = Field(pattern=PROVINCE)


class ManifestIn(_In):
    vehicle_id: UUID
    destination_province_code: str = Field(pattern=PROVINCE)
    returnee_ids: list[UUID] = Field(min_length=1, max_length=200)

    _province = field_validator("destination_province_code")(_known_province)


class SuppliesIn(_In):
    food_rations: int = Field(0, ge=0, le=10000)
    water_litres: int = Field(0, ge=0, le=10000)
    medicine_kits: int = Field(0, ge=0, le=1000)
    notes: str = Field("", max_length=500, pattern=PRINTABLE)


class DispatchIn(_In):
    duration_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class ArrivalIn(_In):
    returnee_id: UUID
    outcome: Literal["handed_over", "missing"]


class PassengerOut(BaseModel):
    returnee_id: UUID
    household_id: UUID | None
    home_village_code: str
    name_km: str | None
    name_latin: str | None
    special_care: list[str]
    stage: str


class ManifestOut(BaseModel):
    id: UUID
    status: str
    vehicle: VehicleOut
    origin_province_code: str
    destination_province_code: str
    destination_province_name: dict[str, str]
    destination_district_code: str | None
    passengers: list[PassengerOut]
    care: dict[str, int]
    supplies: dict
    supply_gaps: list[str]
    created_at: datetime
    confirmed_at: datetime | None
    dispatched_at: datetime | None
    expected_arrival: datetime | None
    closed_at: datetime | None
    overdue: bool


class ProposedOut(BaseModel):
    manifests: list[ManifestOut]
    households_too_large: list[list[UUID]]


class TransferOut(BaseModel):
    returnee_id: UUID
    household_id: UUID | None
    origin_province_code: str | None
    destination_province_code: str
    destination_district_code: str
    stage: str
    ready: bool
    ready_since: datetime | None
    held_reason: str | None
    manifest_id: UUID | None


def _vehicle_out(v, busy: str | None = None) -> VehicleOut:
    return VehicleOut(
        id=v.id,
        plate=v.plate,
        seats=v.seats,
        driver=v.driver,
        escort=v.escort,
        origin_province_code=v.origin_province,
        busy=busy,
    )


def manifest_out(view: ManifestView, now: datetime | None = None) -> ManifestOut:
    m = view.manifest
    overdue = bool(now and m.status == "dispatched" and m.expected_arrival and m.expected_arrival < now)
    return ManifestOut(
        id=m.id,
        status=m.status,
        vehicle=_vehicle_out(view.vehicle, m.status),
        origin_province_code=m.origin_province,
        destination_province_code=m.destination_province,
        destination_province_name=province_names(m.destination_province),
        destination_district_code=m.destination_district,
        passengers=[PassengerOut.model_validate(p, from_attributes=True) for p in view.passengers],
        care=view.care,
        supplies=m.supplies,
        supply_gaps=view.supply_gaps,
        created_at=m.created_at,
        confirmed_at=m.confirmed_at,
        dispatched_at=m.dispatched_at,
        expected_arrival=m.expected_arrival,
        closed_at=m.closed_at,
        overdue=overdue,
    )


def _require_province(scope: Scope, code: str) -> None:
    if scope is not None and code not in scope:
        raise NotFound("province")


@router.post("/vehicles", status_code=201, responses=errors(404, 409))
async def register_vehicle(body: VehicleIn, deps: TransportDeps, principal: Officer) -> VehicleOut:
    """Register a vehicle (plate, seats, driver, escort) with a border province's fleet."""
    _require_province(acting(principal), body.origin_province_code)
    vehicle = await deps.run(
        handlers.register_vehicle,
        plate=body.plate.upper(),
        seats=body.seats,
        driver=body.driver,
        escort=body.escort,
        origin_province=body.origin_province_code,
    )
    return _vehicle_out(vehicle)


@router.get("/vehicles")
async def list_vehicles(deps: TransportDeps, principal: Reader) -> list[VehicleOut]:
    """The fleets in the caller's provinces, with what each vehicle is doing."""
    return [_vehicle_out(v, s) for v, s in await deps.run(queries.list_vehicles, scope=reading(principal))]


@router.post("/manifests/propose", status_code=201, responses=errors(404))
async def propose(body: ProposeIn, deps: TransportDeps, principal: Officer) -> ProposedOut:
    """Fill the free vehicles of a border province with who waits there, by destination, households whole."""
    _require_province(acting(principal), body.origin_province_code)
    proposed = await deps.run(handlers.propose_manifests, origin_province=body.origin_province_code)
    return ProposedOut(
        manifests=[manifest_out(v) for v in proposed.manifests], households_too_large=proposed.too_large
    )


@router.post("/manifests", status_code=201, responses=errors(409))
async def create_manifest(body: ManifestIn, deps: TransportDeps, principal: Officer) -> ManifestOut:
    """Put a manifest together by hand."""
    view = await deps.run(
        handlers.create_manifest,
        vehicle_id=body.vehicle_id,
        destination_province=body.destination_province_code,
        returnee_ids=list(dict.fromkeys(body.returnee_ids)),
        scope=acting(principal),
    )
    return manifest_out(view)


@router.get("/manifests")
async def list_manifests(
    deps: TransportDeps,
    principal: Reader,
    origin: OriginDep,
    status: Annotated[
        Literal["proposed", "confirmed", "dispatched", "closed", "cancelled"] | None, Query()
    ] = None,
) -> list[ManifestOut]:
    """Manifests from or to the caller's provinces."""
    views = await deps.run(
        queries.list_manifests, origin=origin, viewer=principal, status=status, scope=reading(principal)
    )
    now = deps.clock.now()
    return [manifest_out(v, now) for v in views]


# Declared before GET /manifests/{manifest_id}: that path's parameter would also take "<id>.pdf".
@router.get(
    "/manifests/{manifest_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
    | errors(404),
)
async def print_manifest(
    manifest_id: UUID, deps: TransportDeps, principal: Reader, origin: OriginDep
) -> Response:
    """The paper manifest for the driver: A4, Khmer and English, vehicle, driver, escort, passengers by
    household, supplies. Read and audited like GET /manifests/{manifest_id}, from the same query."""
    view = await deps.run(
        queries.get_manifest,
        origin=origin,
        viewer=principal,
        manifest_id=manifest_id,
        scope=reading(principal),
    )
    # Layout takes a few hundred milliseconds of CPU: off the event loop, which serves everyone else.
    pdf = await asyncio.to_thread(printing.manifest_pdf, view, deps.clock.now())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="manifest-{manifest_id}.pdf"',
            "Cache-Control": "no-store",  # names of returnees: not for shared caches or the disk cache
        },
    )


@router.get("/manifests/{manifest_id}", responses=errors(404))
async def get_manifest(
    manifest_id: UUID, deps: TransportDeps, principal: Reader, origin: OriginDep
) -> ManifestOut:
    view = await deps.run(
        queries.get_manifest,
        origin=origin,
        viewer=principal,
        manifest_id=manifest_id,
        scope=reading(principal),
    )
    return manifest_out(view, deps.clock.now())


@router.post("/manifests/{manifest_id}/confirm", responses=errors(404, 409))
async def confirm(manifest_id: UUID, deps: TransportDeps, principal: Officer) -> ManifestOut:
    return manifest_out(
        await deps.run(handlers.confirm_manifest, manifest_id=manifest_id, scope=acting(principal))
    )


@router.post("/manifests/{manifest_id}/cancel", responses=errors(404, 409))
async def cancel(manifest_id: UUID, deps: TransportDeps, principal: Officer) -> ManifestOut:
    """Drop a manifest that has not left; its passengers wait again."""
    return manifest_out(
        await deps.run(handlers.cancel_manifest, manifest_id=manifest_id, scope=acting(principal))
    )


@router.put("/manifests/{manifest_id}/supplies", responses=errors(404, 409))
async def supplies(
    manifest_id: UUID, body: SuppliesIn, deps: TransportDeps, principal: Officer
) -> ManifestOut:
    """Record food, water and medicine loaded; the answer lists what falls short of who is on board."""
    view = await deps.run(
        handlers.record_supplies, manifest_id=manifest_id, supplies=body.model_dump(), scope=acting(principal)
    )
    return manifest_out(view)


@router.post("/manifests/{manifest_id}/dispatch", responses=errors(404, 409))
async def dispatch(
    manifest_id: UUID, body: DispatchIn, deps: TransportDeps, principal: Officer
) -> ManifestOut:
    """The vehicle leaves; expected arrival from `duration_minutes`, or estimated from the provinces."""
    duration = timedelta(minutes=body.duration_minutes) if body.duration_minutes else None
    view = await deps.run(
        handlers.dispatch_manifest, manifest_id=manifest_id, duration=duration, scope=acting(principal)
    )
    return manifest_out(view, deps.clock.now())


@router.post("/manifests/{manifest_id}/arrivals", responses=errors(404, 409))
async def arrival(manifest_id: UUID, body: ArrivalIn, deps: TransportDeps, principal: Officer) -> ManifestOut:
    """At the destination: one passenger handed over, or reported missing (an alert)."""
    view = await deps.run(
        handlers.record_arrival,
        manifest_id=manifest_id,
        returnee_id=body.returnee_id,
        present=body.outcome == "handed_over",
        scope=acting(principal),
    )
    return manifest_out(view, deps.clock.now())


@router.get("/transfers/{returnee_id}", responses=errors(404))
async def get_transfer(
    returnee_id: UUID, deps: TransportDeps, principal: Reader, origin: OriginDep
) -> TransferOut:
    """Where one returnee is on the way home."""
    t = await deps.run(
        queries.get_transfer,
        origin=origin,
        viewer=principal,
        returnee_id=returnee_id,
        scope=reading(principal),
    )
    return TransferOut(
        returnee_id=t.returnee_id,
        household_id=t.household_id,
        origin_province_code=t.origin_province,
        destination_province_code=t.destination_province,
        destination_district_code=t.destination_district,
        stage=t.stage,
        ready=t.ready,
        ready_since=t.ready_since,
        held_reason=t.held_reason,
        manifest_id=t.manifest_id,
    )


@router.get("/overview")
async def overview(deps: TransportDeps, principal: Reader, origin: OriginDep) -> dict:
    """The working group's page data: who waits for where, what is on the road, what is overdue."""
    ov = await deps.run(queries.overview, origin=origin, viewer=principal, scope=reading(principal))
    manifests = [manifest_out(v, ov.now) for v in ov.manifests]
    return {
        "now": ov.now,
        "waiting": [
            {**w, "destination_name": province_names(w["destination"]), "origin_name": _name(w["origin"])}
            for w in ov.waiting
        ],
        "not_ready": [{**n, "destination_name": province_names(n["destination"])} for n in ov.not_ready],
        "open": [m for m in manifests if m.status in ("proposed", "confirmed")],
        "in_transit": [m for m in manifests if m.status == "dispatched"],
        "overdue": [m for m in manifests if m.overdue],
        "households_too_large": [
            {**h, "destination_name": province_names(h["destination"])} for h in ov.too_large
        ],
        "missing": [
            {
                "returnee_id": t.returnee_id,
                "manifest_id": t.manifest_id,
                "destination": t.destination_province,
                "destination_name": province_names(t.destination_province),
                "origin": t.origin_province,
                # Whom to look for: the names are in the audit trail with the rest of this read.
                "name_km": t.name_km,
                "name_latin": t.name_latin,
            }
            for t in ov.missing
        ],
    }


def _name(code: str | None) -> dict[str, str] | None:
    return province_names(code) if code else None


@router.get("/transport/config.json", dependencies=[public()])
async def page_config(deps: TransportDeps, request: Request) -> dict:
    """The working group's page settings: where its API is and where it logs in (shared/web/pages.py), and
    the provinces' names (no returnee data)."""
    provinces = {p.code: {"km": p.name_km, "en": p.name_en} for p in load_gazetteer().provinces()}
    return origin_config(request, deps.settings.identity_url) | {"provinces": provinces}


@router.get("/transport/messages.json", dependencies=[public()])
async def transport_page_messages() -> dict:
    """The page's words in Khmer and English (shared/i18n)."""
    return page_messages("transport")
