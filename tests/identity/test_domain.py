"""Pure rules of identity: grants, passwords, the brake on guessing (no infrastructure)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.identity.domain import (
    DEMO_USERS,
    Brake,
    InvalidGrant,
    parse_grant,
    password_problem,
    username_problem,
)
from shared.geo.gazetteer import load_gazetteer
from shared.web.auth import Grant, Role

GAZETTEER = load_gazetteer()


@pytest.mark.parametrize(
    ("text", "grant"),
    [
        ("checkpoint_officer:KH-TH-01", Grant(role=Role.checkpoint_officer, scope="KH-TH-01")),
        ("facility_staff:QF-01-1", Grant(role=Role.facility_staff, scope="QF-01-1")),
        ("transport_officer:01", Grant(role=Role.transport_officer, scope="01")),
        ("commune_chief:140101", Grant(role=Role.commune_chief, scope="140101")),
        ("district_officer:1401", Grant(role=Role.district_officer, scope="1401")),
        ("provincial_wg:14", Grant(role=Role.provincial_wg, scope="14")),
        ("national_admin", Grant(role=Role.national_admin, scope="KH")),
        ("national_admin:KH", Grant(role=Role.national_admin, scope="KH")),
    ],
)
def test_a_grant_names_a_role_and_a_scope_of_its_kind(text, grant):
    assert parse_grant(text, GAZETTEER) == grant


@pytest.mark.parametrize(
    "text",
    [
        "governor:14",  # no such role
        "provincial_wg",  # no scope
        "provincial_wg:99",  # no such province
        "provincial_wg:1401",  # a district where a province belongs
        "district_officer:14",
        "commune_chief:1401",
        "commune_chief:149999",  # shaped right, but not in the gazetteer
        "transport_officer:14",  # Prey Veng does not border Thailand
        "checkpoint_officer:KH-TH-99",
        "facility_staff:QF 01",
        "national_admin:14",  # the nation, or nothing
    ],
)
def test_a_grant_that_does_not_fit_is_refused_naming_it(text):
    with pytest.raises(InvalidGrant, match=text.split(":")[0]):
        parse_grant(text, GAZETTEER)


def test_every_demo_grant_is_valid():
    roles = {parse_grant(t, GAZETTEER).role for demo in DEMO_USERS for t in demo.grants}
    assert roles == set(Role)


def test_password_and_username_rules():
    assert password_problem("short") == "password: at least 10 characters"
    assert password_problem("x" * 201) == "password: at most 200 characters"
    assert password_problem("long enough pass") is None
    assert username_problem("pwg.preyveng") is None
    assert username_problem("Sokha Chan").startswith("username:")


def test_the_brake_locks_after_the_limit_and_opens_after_the_lockout():
    brake = Brake(max_failures=3, lockout=timedelta(minutes=15))
    now = datetime(2026, 3, 27, 8, tzinfo=UTC)

    assert brake.after_failure(0, now) == (1, None)
    assert brake.after_failure(1, now) == (2, None)
    failures, until = brake.after_failure(2, now)

    assert (failures, until) == (0, now + timedelta(minutes=15))
    assert brake.is_locked(until, now + timedelta(minutes=14))
    assert not brake.is_locked(until, now + timedelta(minutes=15))
    assert not brake.is_locked(None, now)
