"""Tokens and scopes, without a server."""

from datetime import timedelta

import jwt
import pytest
from fastapi import HTTPException

from shared.web.auth import Grant, Principal, Role, TokenConfig, issue_token, verify_token

CONFIG = TokenConfig("issuer", "audience", "k" * 40)


def test_a_token_round_trips_with_its_grants():
    grants = [
        Grant(role=Role.commune_chief, scope="140101"),
        Grant(role=Role.checkpoint_officer, scope="KH-TH-01"),
    ]
    principal = verify_token(CONFIG, issue_token(CONFIG, "chief-1", grants, timedelta(minutes=5)))
    assert principal.subject == "chief-1"
    assert set(principal.grants) == set(grants)


@pytest.mark.parametrize(
    "token",
    [
        issue_token(CONFIG, "u", [], timedelta(minutes=-5)),  # expired
        issue_token(
            TokenConfig("issuer", "other", "k" * 40), "u", [], timedelta(minutes=5)
        ),  # wrong audience
        issue_token(
            TokenConfig("other", "audience", "k" * 40), "u", [], timedelta(minutes=5)
        ),  # wrong issuer
        issue_token(TokenConfig("issuer", "audience", "x" * 40), "u", [], timedelta(minutes=5)),  # wrong key
        jwt.encode({"sub": "u", "aud": "audience", "iss": "issuer"}, "k" * 40),  # no expiry
        "not-a-token",
    ],
)
def test_bad_tokens_are_401(token):
    with pytest.raises(HTTPException) as caught:
        verify_token(CONFIG, token)
    assert caught.value.status_code == 401


def test_tampered_roles_are_401():
    token = issue_token(CONFIG, "u", [Grant(role=Role.provincial_wg, scope="02")], timedelta(minutes=5))
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {
            **jwt.decode(token, options={"verify_signature": False}),
            "roles": [{"role": "national_admin", "scope": "KH"}],
        },
        "an-attacker-guess-of-the-key-0000000000",
    ).split(".")[1]
    with pytest.raises(HTTPException):
        verify_token(CONFIG, f"{header}.{forged}.{signature}")


def test_geography_from_grants():
    battambang = Principal("p", (Grant(role=Role.provincial_wg, scope="02"),))
    assert battambang.geo_prefixes() == {"02"}
    assert battambang.sees_village("02010101")
    assert not battambang.sees_village("14010101")
    officer = Principal("o", (Grant(role=Role.checkpoint_officer, scope="KH-TH-01"),))
    assert officer.geo_prefixes() == set()  # a checkpoint is no place of residence
    assert officer.scopes(Role.checkpoint_officer) == {"KH-TH-01"}
    nation = Principal("n", (Grant(role=Role.national_admin, scope="KH"),))
    assert nation.geo_prefixes() is None and nation.sees_village("14010101")
