"""Pure rules of transport: who may travel, how vehicles are filled, how long a trip takes."""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

HOLD_REFERRED = "referred"
HOLD_SYMPTOMS = "symptoms"
HOLD_SCREENING = "screening"

# A carer needs these on board for the people in their care.
CARE_NEEDS = {
    "infant": "medicine",
    "pregnant": "medicine",
    "ill": "medicine",
    "disability": "medicine",
    "elderly": "water",
    "child": "food",
}


def is_ready(
    *,
    registered: bool,
    policy: str | None,
    quarantine_completed: bool,
    held_reason: str | None,
    stage: str,
) -> bool:
    """Ready to be put on a vehicle: registered, cleared by its policy, not held, not already on a trip."""
    if not registered or held_reason or stage != "waiting":
        return False
    return policy == "home" or quarantine_completed


def screening_hold(symptoms: Sequence[str], test_result: str) -> str | None:
    """Someone registered with symptoms or a positive test waits for health care, not for a vehicle."""
    return HOLD_SCREENING if symptoms or test_result == "positive" else None


@dataclass(frozen=True)
class Traveller:
    returnee_id: UUID
    household_id: UUID | None
    destination_province: str
    destination_district: str
    ready_since: datetime


@dataclass(frozen=True)
class Party:
    """People who travel together: a household, or one returnee on their own."""

    members: tuple[Traveller, ...]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def since(self) -> datetime:
        return min(m.ready_since for m in self.members)

    @property
    def destination(self) -> str:
        return self.members[0].destination_province


@dataclass(frozen=True)
class Seats:
    vehicle_id: UUID
    seats: int


@dataclass
class Plan:
    vehicle_id: UUID
    seats: int
    destination_province: str
    parties: list[Party] = field(default_factory=list)

    @property
    def load(self) -> int:
        return sum(p.size for p in self.parties)

    @property
    def travellers(self) -> list[Traveller]:
        return [m for p in self.parties for m in p.members]

    @property
    def destination_district(self) -> str | None:
        """The district, when everyone on board goes to the same one."""
        districts = {t.destination_district for t in self.travellers}
        return districts.pop() if len(districts) == 1 else None

    @property
    def oldest(self) -> datetime:
        return min(p.since for p in self.parties)


@dataclass
class Proposal:
    plans: list[Plan]
    too_large: list[Party]  # households no vehicle of the province can carry in one piece


def parties(travellers: Iterable[Traveller]) -> list[Party]:
    """Group travellers by household, oldest waiting first; a household of one destination stays whole."""
    groups: dict[object, list[Traveller]] = {}
    for t in travellers:
        key = (t.household_id, t.destination_province) if t.household_id else t.returnee_id
        groups.setdefault(key, []).append(t)
    return sorted(
        (Party(tuple(g)) for g in groups.values()), key=lambda p: (p.since, p.members[0].returnee_id)
    )


def propose(travellers: Iterable[Traveller], vehicles: Sequence[Seats]) -> Proposal:
    """Fill the free vehicles by destination, longest waiting destination and party first.

    Each destination gets the smallest free vehicle that carries all its waiting people, else the largest;
    parties are placed whole (first fit), so a household is never split across vehicles.
    """
    free = sorted(vehicles, key=lambda v: (v.seats, str(v.vehicle_id)))
    largest = free[-1].seats if free else 0
    by_destination: dict[str, list[Party]] = {}
    too_large = []
    for party in parties(travellers):
        if party.size > largest:
            too_large.append(party)
        else:
            by_destination.setdefault(party.destination, []).append(party)
    plans = []
    queue = sorted(by_destination.values(), key=lambda ps: ps[0].since)
    for waiting in queue:
        while waiting and free:
            need = sum(p.size for p in waiting)
            vehicle = next((v for v in free if v.seats >= need), free[-1])
            free.remove(vehicle)
            plan = Plan(vehicle.vehicle_id, vehicle.seats, waiting[0].destination)
            for party in _district_first(waiting):
                if plan.load + party.size <= plan.seats:
                    plan.parties.append(party)
                    waiting.remove(party)
            if not plan.parties:  # the vehicles left are all too small for what waits here
                free.append(vehicle)
                free.sort(key=lambda v: (v.seats, str(v.vehicle_id)))
                break
            plans.append(plan)
    return Proposal(plans, too_large)


def _district_first(waiting: list[Party]) -> list[Party]:
    """The longest waiting party, then the others of its district, then the rest."""
    # A vehicle serves one district when the load allows, and the first in line never waits longer for it.
    district = waiting[0].members[0].destination_district
    same = [p for p in waiting if p.members[0].destination_district == district]
    return same + [p for p in waiting if p.members[0].destination_district != district]


def worth_sending(plan: Plan, *, now: datetime, max_wait: timedelta) -> bool:
    """Auto-dispatch sends a vehicle when it is full or its longest waiting passenger waited long enough."""
    return plan.load >= plan.seats or now - plan.oldest >= max_wait


@dataclass(frozen=True)
class Member:
    """What a manual manifest check needs to know of one returnee."""

    returnee_id: UUID
    household_id: UUID | None
    ready: bool
    origin_province: str | None
    destination_province: str


def manifest_problems(
    *, chosen: Sequence[Member], household_ready: Iterable[Member], seats: int, origin: str, destination: str
) -> list[str]:
    """Why a hand-made manifest cannot stand, each a reason about its `returnee_ids` (none when it can)."""
    problems = []
    if len(chosen) > seats:
        problems.append(f"{len(chosen)} passengers for {seats} seats")
    for m in chosen:
        if not m.ready:
            problems.append(f"{m.returnee_id} is not waiting and cleared to travel")
        elif m.origin_province != origin or m.destination_province != destination:
            problems.append(f"{m.returnee_id} does not travel {origin} -> {destination}")
    ids = {m.returnee_id for m in chosen}
    left = sorted({str(m.household_id) for m in household_ready if m.returnee_id not in ids})
    problems.extend(f"household {h} would be split" for h in left)
    return problems


def care_summary(special_care: Iterable[Sequence[str]]) -> dict[str, int]:
    """How many people on board need each kind of special care."""
    return dict(Counter(need for needs in special_care for need in needs))


def supply_gaps(care: dict[str, int], supplies: dict, passengers: int) -> list[str]:
    """Supplies missing for who is on board: food and water for everyone, medicine for those in care."""
    gaps = []
    if supplies.get("food_rations", 0) < passengers:
        gaps.append("food")
    if supplies.get("water_litres", 0) < passengers:
        gaps.append("water")
    if sum(n for need, n in care.items() if CARE_NEEDS.get(need) == "medicine") and not supplies.get(
        "medicine_kits", 0
    ):
        gaps.append("medicine")
    return gaps


def trip_duration(origin: tuple[float, float] | None, destination: tuple[float, float] | None) -> timedelta:
    """A simple estimate between two province centres: road ~1.3x the straight line at 50 km/h, plus 1 h."""
    if origin is None or destination is None:
        return timedelta(hours=8)
    km = _haversine_km(origin, destination) * 1.3
    return timedelta(hours=1) + timedelta(hours=km / 50)


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))
