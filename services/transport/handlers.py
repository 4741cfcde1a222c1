"""Use cases of transport: one transaction each, the state change and its events committed together."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.transport import domain
from services.transport.models import Manifest, Transfer, Vehicle
from services.transport.places import centre, origin_of
from services.transport.settings import Settings
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.quarantine import QuarantineCompleted, ReferralCleared, SymptomsReported
from shared.contracts.transport import HandedOver, ManifestDispatched, Passenger, PassengerMissing
from shared.errors import Conflict, Invalid, NotFound
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[Settings]

OPEN = ("proposed", "confirmed")  # a manifest still being put together: its people have not left
ACTIVE = (*OPEN, "dispatched")  # a manifest that holds its vehicle

Scope = set[str] | None  # province codes the caller acts for; None is the whole nation


# --- events in --------------------------------------------------------------------------------------------


async def _transfer(session: AsyncSession, returnee_id: UUID) -> Transfer | None:
    query = select(Transfer).where(Transfer.returnee_id == returnee_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _settle(transfer: Transfer, now: datetime) -> None:
    """Recompute readiness; someone who stops being ready before leaving gets off their manifest."""
    if transfer.stage == "assigned" and transfer.held_reason:
        transfer.stage, transfer.manifest_id = "waiting", None
    transfer.ready = domain.is_ready(
        registered=transfer.registered,
        policy=transfer.policy,
        quarantine_completed=transfer.quarantine_completed,
        held_reason=transfer.held_reason,
        stage=transfer.stage,
    )
    if transfer.ready and transfer.ready_since is None:
        transfer.ready_since = now
    elif not transfer.ready and transfer.stage == "waiting":
        transfer.ready_since = None
    transfer.updated_at = now


def _new_transfer(returnee_id: UUID, village: str, now: datetime) -> Transfer:
    return Transfer(
        returnee_id=returnee_id,
        home_village_code=village,
        destination_province=village[:2],
        destination_district=village[:4],
        updated_at=now,
    )


async def on_registered(uow: Uow, *, event: ReturneeRegistered | ReturneeCorrected) -> None:
    """A registration or its correction: create the transfer once, or update it while nobody has left."""
    now = uow.now()
    transfer = await _transfer(uow.session, event.returnee_id)
    if transfer is None:
        transfer = _new_transfer(event.returnee_id, event.home_village_code, now)
        uow.session.add(transfer)
    elif transfer.stage not in ("waiting", "assigned"):
        return  # already on the road or home: a late correction changes nothing of the trip
    if transfer.stage == "assigned" and transfer.home_village_code[:2] != event.home_village_code[:2]:
        transfer.stage, transfer.manifest_id = "waiting", None  # now heading to another province
    transfer.registered = True
    transfer.policy = event.policy.value
    transfer.household_id = event.household_id
    transfer.checkpoint_id = event.checkpoint_id
    transfer.origin_province = origin_of(event.checkpoint_id)
    transfer.home_village_code = event.home_village_code
    transfer.destination_province = event.home_village_code[:2]
    transfer.destination_district = event.home_village_code[:4]
    transfer.name_km, transfer.name_latin = event.name_km, event.name_latin
    transfer.special_care = [c.value for c in event.special_care]
    hold = domain.screening_hold(event.screening.symptoms, event.screening.test_result)
    if transfer.held_reason in (None, domain.HOLD_SCREENING):  # a correction may clear its own hold only
        transfer.held_reason = hold
    _settle(transfer, now)


async def on_referred(uow: Uow, *, event: ReturneeReferred) -> None:
    await _hold(uow, event, domain.HOLD_REFERRED)


async def on_symptoms(uow: Uow, *, event: SymptomsReported) -> None:
    await _hold(uow, event, domain.HOLD_SYMPTOMS)


async def _hold(uow: Uow, event: ReturneeReferred | SymptomsReported, reason: str) -> None:
    """Referred or symptomatic: held out of transport, and taken off a manifest that has not left."""
    now = uow.now()
    transfer = await _transfer(uow.session, event.returnee_id)
    if transfer is None:
        transfer = _new_transfer(event.returnee_id, event.home_village_code, now)
        uow.session.add(transfer)
    if transfer.held_reason != domain.HOLD_REFERRED:  # a referral outranks later symptoms
        transfer.held_reason = reason
    _settle(transfer, now)


async def on_quarantine_completed(uow: Uow, *, event: QuarantineCompleted) -> None:
    """Fourteen days done: ready to travel; symptoms reported earlier in the episode are cleared by it."""
    now = uow.now()
    transfer = await _transfer(uow.session, event.returnee_id)
    if transfer is None:
        transfer = _new_transfer(event.returnee_id, event.home_village_code, now)
        uow.session.add(transfer)
    transfer.quarantine_completed = True
    if transfer.held_reason == domain.HOLD_SYMPTOMS:
        transfer.held_reason = None
    _settle(transfer, now)


async def on_referral_cleared(uow: Uow, *, event: ReferralCleared) -> None:
    """Health staff cleared a referral: the returnee may travel again once their policy allows it."""
    transfer = await _transfer(uow.session, event.returnee_id)
    if transfer is None or transfer.held_reason != domain.HOLD_REFERRED:
        return
    transfer.held_reason = None
    _settle(transfer, uow.now())


# --- vehicles ----------------------------------------------------------------------------------------------


async def register_vehicle(
    uow: Uow, *, plate: str, seats: int, driver: str, escort: str, origin_province: str
) -> Vehicle:
    """A vehicle joins the fleet of a border province; plates are unique."""
    taken = await uow.session.scalar(select(func.count()).where(Vehicle.plate == plate))
    if taken:
        raise Conflict("plate: a vehicle with this plate is registered already")
    vehicle = Vehicle(
        plate=plate,
        seats=seats,
        driver=driver,
        escort=escort,
        origin_province=origin_province,
        registered_at=uow.now(),
    )
    uow.session.add(vehicle)
    return vehicle


# --- manifests ---------------------------------------------------------------------------------------------


@dataclass
class ManifestView:
    manifest: Manifest
    vehicle: Vehicle
    passengers: list[Transfer]

    @property
    def care(self) -> dict[str, int]:
        return domain.care_summary(p.special_care for p in self.passengers)

    @property
    def supply_gaps(self) -> list[str]:
        return domain.supply_gaps(self.care, self.manifest.supplies, len(self.passengers))


async def load_view(session: AsyncSession, manifest: Manifest) -> ManifestView:
    vehicle = await session.get(Vehicle, manifest.vehicle_id)
    query = select(Transfer).where(Transfer.manifest_id == manifest.id).order_by(Transfer.household_id)
    passengers = list((await session.execute(query)).scalars())
    return ManifestView(manifest, vehicle, passengers)


def scoped(query, scope: Scope, *columns):
    """Keep rows whose province in any of `columns` is within scope; the filter runs in SQL."""
    if scope is None:
        return query
    return query.where(or_(*(c.in_(scope) for c in columns)))


async def _manifest(session: AsyncSession, manifest_id: UUID, scope: Scope, *columns) -> Manifest:
    query = scoped(select(Manifest).where(Manifest.id == manifest_id), scope, *columns)
    manifest = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if manifest is None:
        raise NotFound("manifest")
    return manifest


async def _free_vehicles(session: AsyncSession, origin: str) -> list[Vehicle]:
    busy = select(Manifest.vehicle_id).where(Manifest.status.in_(ACTIVE))
    query = select(Vehicle).where(Vehicle.origin_province == origin, Vehicle.id.not_in(busy))
    return list((await session.execute(query.with_for_update())).scalars())


async def _waiting(session: AsyncSession, origin: str) -> list[Transfer]:
    query = select(Transfer).where(
        Transfer.origin_province == origin, Transfer.ready.is_(True), Transfer.manifest_id.is_(None)
    )
    return list((await session.execute(query.with_for_update())).scalars())


def _traveller(t: Transfer) -> domain.Traveller:
    return domain.Traveller(
        t.returnee_id, t.household_id, t.destination_province, t.destination_district, t.ready_since
    )


@dataclass
class Proposed:
    manifests: list[ManifestView]
    too_large: list[list[UUID]]  # households no vehicle of the province can carry together


async def propose_manifests(uow: Uow, *, origin_province: str, max_wait: timedelta | None = None) -> Proposed:
    """Propose manifests for who waits at a border province; with `max_wait`, only those worth sending."""
    now, session = uow.now(), uow.session
    waiting = {t.returnee_id: t for t in await _waiting(session, origin_province)}
    vehicles = await _free_vehicles(session, origin_province)
    proposal = domain.propose(
        [_traveller(t) for t in waiting.values()], [domain.Seats(v.id, v.seats) for v in vehicles]
    )
    views = []
    for plan in proposal.plans:
        if max_wait is not None and not domain.worth_sending(plan, now=now, max_wait=max_wait):
            continue
        manifest = Manifest(
            vehicle_id=plan.vehicle_id,
            origin_province=origin_province,
            destination_province=plan.destination_province,
            destination_district=plan.destination_district,
            created_at=now,
        )
        session.add(manifest)
        await session.flush()
        for traveller in plan.travellers:
            _assign(waiting[traveller.returnee_id], manifest.id, now)
        await session.flush()
        views.append(await load_view(session, manifest))
    too_large = [[m.returnee_id for m in party.members] for party in proposal.too_large]
    return Proposed(views, too_large)


def _assign(transfer: Transfer, manifest_id: UUID, now: datetime) -> None:
    transfer.stage, transfer.manifest_id, transfer.ready, transfer.updated_at = (
        "assigned",
        manifest_id,
        False,
        now,
    )


async def create_manifest(
    uow: Uow, *, vehicle_id: UUID, destination_province: str, returnee_ids: list[UUID], scope: Scope
) -> ManifestView:
    """A manifest put together by hand; refused whole if overfull, not ready, or splitting a household.

    Of several broken rules the first is answered: fixing it shows the next.
    """
    now, session = uow.now(), uow.session
    query = scoped(select(Vehicle).where(Vehicle.id == vehicle_id), scope, Vehicle.origin_province)
    vehicle = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if vehicle is None:
        raise Invalid(("body", "vehicle_id"), "no such vehicle in your province")
    if vehicle.id not in {v.id for v in await _free_vehicles(session, vehicle.origin_province)}:
        raise Conflict("vehicle_id: the vehicle is on another manifest")
    # Only returnees leaving the caller's provinces: another province's is "not known", like an id nobody
    # has, so a refusal tells nothing of their stage, destination or household.
    chosen = await _transfers(session, returnee_ids, scope)
    known = {t.returnee_id for t in chosen}
    for i, rid in enumerate(returnee_ids):
        if rid not in known:
            raise Invalid(("body", "returnee_ids", i), "not known to transport")
    households = {t.household_id for t in chosen if t.household_id}
    kin = await _household_ready(session, households, destination_province)
    problems = domain.manifest_problems(
        chosen=[_member(t) for t in chosen],
        household_ready=[_member(t) for t in kin],
        seats=vehicle.seats,
        origin=vehicle.origin_province,
        destination=destination_province,
    )
    if problems:
        raise Invalid(("body", "returnee_ids"), problems[0])
    districts = {t.destination_district for t in chosen}
    manifest = Manifest(
        vehicle_id=vehicle.id,
        origin_province=vehicle.origin_province,
        destination_province=destination_province,
        destination_district=districts.pop() if len(districts) == 1 else None,
        created_at=now,
    )
    session.add(manifest)
    await session.flush()
    for t in chosen:
        _assign(t, manifest.id, now)
    await session.flush()
    return await load_view(session, manifest)


async def _transfers(session: AsyncSession, ids: Iterable[UUID], scope: Scope) -> list[Transfer]:
    query = select(Transfer).where(Transfer.returnee_id.in_(list(ids)))
    query = scoped(query, scope, Transfer.origin_province).with_for_update()
    return list((await session.execute(query)).scalars())


async def _household_ready(session: AsyncSession, households: set[UUID], destination: str) -> list[Transfer]:
    if not households:
        return []
    query = select(Transfer).where(
        Transfer.household_id.in_(households),
        Transfer.destination_province == destination,
        Transfer.ready.is_(True),
    )
    return list((await session.execute(query)).scalars())


def _member(t: Transfer) -> domain.Member:
    return domain.Member(t.returnee_id, t.household_id, t.ready, t.origin_province, t.destination_province)


async def confirm_manifest(uow: Uow, *, manifest_id: UUID, scope: Scope) -> ManifestView:
    """Staff agree with a proposal: the vehicle will take exactly these people."""
    manifest = await _manifest(uow.session, manifest_id, scope, Manifest.origin_province)
    if manifest.status != "proposed":
        raise Conflict(f"status: a {manifest.status} manifest cannot be confirmed")
    view = await load_view(uow.session, manifest)
    if not view.passengers:
        raise Conflict("status: nobody is left on this manifest")
    manifest.status, manifest.confirmed_at = "confirmed", uow.now()
    return view


async def cancel_manifest(uow: Uow, *, manifest_id: UUID, scope: Scope) -> ManifestView:
    """Drop a manifest that has not left; its people wait again, first in the queue as before."""
    now = uow.now()
    manifest = await _manifest(uow.session, manifest_id, scope, Manifest.origin_province)
    if manifest.status not in OPEN:
        raise Conflict(f"status: a {manifest.status} manifest cannot be cancelled")
    view = await load_view(uow.session, manifest)
    for t in view.passengers:
        t.stage, t.manifest_id = "waiting", None
        _settle(t, now)
    manifest.status, manifest.closed_at = "cancelled", now
    return ManifestView(manifest, view.vehicle, [])


async def record_supplies(uow: Uow, *, manifest_id: UUID, supplies: dict, scope: Scope) -> ManifestView:
    """What is loaded on the vehicle, checked against the needs of who is on board."""
    manifest = await _manifest(uow.session, manifest_id, scope, Manifest.origin_province)
    if manifest.status not in OPEN:
        raise Conflict(f"status: supplies of a {manifest.status} manifest cannot change")
    manifest.supplies = supplies
    return await load_view(uow.session, manifest)


async def dispatch_manifest(
    uow: Uow, *, manifest_id: UUID, duration: timedelta | None, scope: Scope
) -> ManifestView:
    """The vehicle leaves: one `ManifestDispatched` with the expected arrival."""
    now = uow.now()
    manifest = await _manifest(uow.session, manifest_id, scope, Manifest.origin_province)
    if manifest.status != "confirmed":
        raise Conflict(f"status: a {manifest.status} manifest cannot be dispatched, confirm it first")
    view = await load_view(uow.session, manifest)
    if not view.passengers:
        raise Conflict("status: nobody is left on this manifest")
    trip = duration or domain.trip_duration(
        centre(manifest.origin_province), centre(manifest.destination_province)
    )
    manifest.status, manifest.dispatched_at, manifest.expected_arrival = "dispatched", now, now + trip
    for t in view.passengers:
        t.stage, t.updated_at = "in_transit", now
    await uow.emit(
        ManifestDispatched(
            manifest_id=manifest.id,
            destination_province_code=manifest.destination_province,
            vehicle_plate=view.vehicle.plate,
            dispatched_at=now,
            expected_arrival=manifest.expected_arrival,
            passengers=[
                Passenger(returnee_id=t.returnee_id, home_village_code=t.home_village_code)
                for t in view.passengers
            ],
        )
    )
    return view


async def record_arrival(
    uow: Uow, *, manifest_id: UUID, returnee_id: UUID, present: bool, scope: Scope
) -> ManifestView:
    """At the destination, each passenger is handed over or reported missing (an alert, never a drop)."""
    now, session = uow.now(), uow.session
    manifest = await _manifest(session, manifest_id, scope, Manifest.destination_province)
    if manifest.status != "dispatched":
        raise Conflict(f"status: a {manifest.status} manifest has nobody to hand over")
    query = select(Transfer).where(
        and_(Transfer.returnee_id == returnee_id, Transfer.manifest_id == manifest.id)
    )
    transfer = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if transfer is None:
        raise Invalid(("body", "returnee_id"), "not a passenger of this manifest")
    if transfer.stage != "in_transit":
        raise Conflict(f"returnee_id: already recorded as {transfer.stage}")
    transfer.stage, transfer.updated_at = ("handed_over" if present else "missing"), now
    common = {
        "returnee_id": returnee_id,
        "manifest_id": manifest.id,
        "home_village_code": transfer.home_village_code,
    }
    event = (
        HandedOver(**common, handed_over_at=now) if present else PassengerMissing(**common, reported_at=now)
    )
    await uow.emit(event)
    view = await load_view(session, manifest)
    if all(p.stage != "in_transit" for p in view.passengers):
        manifest.status, manifest.closed_at = "closed", now
    return view
