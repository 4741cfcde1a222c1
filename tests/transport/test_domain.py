"""The pure rules of transport: readiness, filling vehicles, supplies and trip estimates."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.transport import domain
from services.transport.places import centre

T0 = datetime(2026, 11, 25, 8, tzinfo=UTC)


def traveller(district: str = "1201", household=None, minutes: int = 0) -> domain.Traveller:
    return domain.Traveller(uuid4(), household, district[:2], district, T0 + timedelta(minutes=minutes))


def seats(*sizes: int) -> list[domain.Seats]:
    return [domain.Seats(uuid4(), n) for n in sizes]


@pytest.mark.parametrize(
    ("policy", "completed", "held", "stage", "ready"),
    [
        ("home", False, None, "waiting", True),
        ("border", False, None, "waiting", False),
        ("border", True, None, "waiting", True),
        ("border", True, "symptoms", "waiting", False),
        ("home", False, "referred", "waiting", False),
        ("border", True, None, "in_transit", False),
    ],
)
def test_who_is_ready_to_travel(policy, completed, held, stage, ready):
    assert (
        domain.is_ready(
            registered=True, policy=policy, quarantine_completed=completed, held_reason=held, stage=stage
        )
        is ready
    )


def test_an_unregistered_returnee_is_never_ready():
    assert not domain.is_ready(
        registered=False, policy=None, quarantine_completed=True, held_reason=None, stage="waiting"
    )


def test_each_destination_gets_the_smallest_vehicle_that_carries_it():
    people = [traveller("1201") for _ in range(5)] + [traveller("0301", minutes=1) for _ in range(20)]

    plans = domain.propose(people, seats(30, 12, 8)).plans

    assert sorted((p.destination_province, p.seats, p.load) for p in plans) == [("03", 30, 20), ("12", 8, 5)]


def test_a_vehicle_serves_one_district_when_the_load_allows():
    people = [traveller("1201", minutes=i) if i % 3 else traveller("1202", minutes=i) for i in range(6)]

    plans = domain.propose(people, seats(4, 4)).plans

    assert [p.destination_district for p in plans] == ["1202", "1201"] or [
        p.destination_district for p in plans
    ] == [None, "1201"]
    assert all(p.load <= p.seats for p in plans)


def test_households_stay_whole_and_oversized_ones_are_set_aside():
    family, giants = uuid4(), uuid4()
    people = (
        [traveller(minutes=0) for _ in range(3)]
        + [traveller(household=family, minutes=1) for _ in range(4)]
        + [traveller(minutes=2) for _ in range(2)]
        + [traveller(household=giants, minutes=3) for _ in range(7)]
    )

    proposal = domain.propose(people, seats(6, 6))

    holders = [p for p in proposal.plans if any(t.household_id == family for t in p.travellers)]
    assert len(holders) == 1 and sum(t.household_id == family for t in holders[0].travellers) == 4
    assert [party.size for party in proposal.too_large] == [7]
    assert sorted(p.load for p in proposal.plans) == [4, 5]


def test_no_vehicle_means_no_plan():
    assert domain.propose([traveller()], []).plans == []


def test_a_vehicle_is_worth_sending_when_full_or_after_the_wait():
    plan = domain.Plan(uuid4(), 2, "12", domain.parties([traveller()]))
    assert not domain.worth_sending(plan, now=T0 + timedelta(minutes=30), max_wait=timedelta(hours=1))
    assert domain.worth_sending(plan, now=T0 + timedelta(hours=1), max_wait=timedelta(hours=1))
    plan.parties += domain.parties([traveller()])
    assert domain.worth_sending(plan, now=T0, max_wait=timedelta(hours=1))


def test_supplies_are_checked_against_who_is_on_board():
    care = domain.care_summary([["infant"], ["pregnant", "ill"], []])
    assert care == {"infant": 1, "pregnant": 1, "ill": 1}
    assert domain.supply_gaps(care, {"food_rations": 3, "water_litres": 6}, 3) == ["medicine"]
    assert domain.supply_gaps({}, {}, 2) == ["food", "water"]


def test_trip_estimate_grows_with_distance():
    near = domain.trip_duration(centre("01"), centre("22"))
    far = domain.trip_duration(centre("01"), centre("16"))
    assert timedelta(hours=1) < near < far < timedelta(hours=24)
    assert domain.trip_duration(None, centre("12")) == timedelta(hours=8)
