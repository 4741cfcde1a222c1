"""A token's grants are checked against the gazetteer when it is verified: a scope that is not a real code
of its role's kind refuses the whole token, since a partial one would widen the `LIKE prefix%` filters."""

from datetime import timedelta

import pytest
from fastapi import HTTPException

from shared.web.auth import Grant, Role, issue_token, verify_token
from shared.web.grants import scope_is_valid
from tests.conftest import TEST_TOKENS


def _verify(*grants: tuple[str, str]):
    token = issue_token(
        TEST_TOKENS, "tester", [Grant(role=r, scope=s) for r, s in grants], timedelta(minutes=5)
    )
    return verify_token(TEST_TOKENS, token)


VALID = [
    ("national_admin", "KH"),
    ("provincial_wg", "14"),
    ("transport_officer", "01"),
    ("transport_officer", "14"),  # the home end of a transfer
    ("district_officer", "1401"),
    ("commune_chief", "140101"),
    ("checkpoint_officer", "KH-TH-01"),
    ("facility_staff", "QF-01-1"),
]

INVALID = [
    ("provincial_wg", ""),  # the empty prefix: every village of the nation
    ("provincial_wg", "1"),  # ten provinces
    ("commune_chief", "1401"),  # a district where a commune belongs: the whole district
    ("commune_chief", "14"),
    ("district_officer", "140"),
    ("district_officer", "14"),
    ("provincial_wg", "99"),  # shaped right, no such province
    ("commune_chief", "149999"),
    ("provincial_wg", "1401"),  # longer is not wider, but it is not a province either
    ("provincial_wg", "KH"),
    ("provincial_wg", "១៤"),  # Khmer digits
    ("provincial_wg", "14 "),
    ("transport_officer", ""),
    ("national_admin", ""),
    ("national_admin", "14"),
    ("checkpoint_officer", ""),
    ("checkpoint_officer", "KH-TH"),
    ("checkpoint_officer", "KH-TH-99"),
    ("facility_staff", ""),
    ("facility_staff", "QF 01"),
    ("facility_staff", "QF-01-1\n"),
    ("facility_staff", "x" * 41),
]


@pytest.mark.parametrize(("role", "scope"), VALID)
def test_a_real_scope_of_the_roles_kind_is_accepted(role, scope):
    assert scope_is_valid(role, scope)
    assert _verify((role, scope)).grants == (Grant(role=Role(role), scope=scope),)


@pytest.mark.parametrize(("role", "scope"), INVALID)
def test_a_scope_that_is_not_a_real_code_of_its_kind_refuses_the_token(role, scope):
    assert not scope_is_valid(role, scope)
    with pytest.raises(HTTPException) as refused:
        _verify((role, scope))
    assert refused.value.status_code == 401
    assert refused.value.detail == "invalid grant"


def test_one_bad_grant_refuses_the_whole_token_even_beside_good_ones():
    with pytest.raises(HTTPException) as refused:
        _verify(("commune_chief", "140101"), ("provincial_wg", ""))
    assert refused.value.status_code == 401


def test_an_unknown_role_is_not_valid():
    assert not scope_is_valid("governor", "14")
