"""Tokens and scopes, without a server."""

import socket
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import HTTPException
from pydantic import ValidationError

from services.identity.keys import SigningKey, generate_pem, thumbprint
from services.identity.settings import Settings as IdentitySettings
from shared.settings import ServiceSettings
from shared.web.auth import Grant, Principal, Role, TokenConfig, issue_token, verify_token
from tests.conftest import PROD, TEST_PUBLIC_KEY, TEST_TOKENS

KEY, OTHER_KEY = SigningKey.from_pem(generate_pem()), SigningKey.from_pem(generate_pem())
CONFIG = TokenConfig("issuer", "audience", KEY.private_pem, "EdDSA")
# The HS256 key docker-compose.yml and shared/settings.py printed before issue 19.
ONCE_PRINTED_KEY = "dev-only-key-not-for-production-use-0000"


def _pem(key, private: bool = False) -> str:
    if private:
        fmt = serialization.PrivateFormat.PKCS8
        return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


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
            TokenConfig("issuer", "other", KEY.private_pem), "u", [], timedelta(minutes=5)
        ),  # wrong audience
        issue_token(
            TokenConfig("other", "audience", KEY.private_pem), "u", [], timedelta(minutes=5)
        ),  # wrong issuer
        issue_token(
            TokenConfig("issuer", "audience", OTHER_KEY.private_pem), "u", [], timedelta(minutes=5)
        ),  # wrong key
        jwt.encode({"sub": "u", "aud": "audience", "iss": "issuer"}, KEY.private_pem, "EdDSA"),  # no expiry
        jwt.encode(
            {"sub": "u", "aud": "audience", "iss": "issuer", "iat": 1, "exp": 4102444800}, "k" * 40
        ),  # HS256, of a verifier expecting EdDSA
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


def _once_printed_key_token() -> str:
    claims = {"iss": "border-return", "aud": "border-return", "sub": "mallory", "iat": int(time.time())}
    claims |= {"exp": int(time.time()) + 600, "roles": [{"role": "national_admin", "scope": "KH"}]}
    return jwt.encode(claims, ONCE_PRINTED_KEY, algorithm="HS256")


def test_a_default_service_refuses_a_token_signed_with_the_once_printed_key():
    config = ServiceSettings().token_config()

    with pytest.raises(HTTPException) as caught:
        verify_token(config, _once_printed_key_token())

    assert caught.value.status_code == 401


def test_no_setting_accepts_the_once_printed_key():
    for environment in ("dev", "test", "prod"):
        with pytest.raises(ValidationError, match="printed in the repository"):
            ServiceSettings(environment=environment, jwt_key=ONCE_PRINTED_KEY, jwt_algorithm="HS256")


def _rsa(bits: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


# Production needs a scrape token too: given, so each case is refused for its key alone.

REFUSED_IN_PROD = {
    "an HS256 shared secret": {"jwt_algorithm": "HS256", "jwt_key": "r4nd0m-and-long-" * 4},
    "alg none": {"jwt_algorithm": "none", "jwt_key": TEST_PUBLIC_KEY},
    "the once printed key": {"jwt_algorithm": "HS256", "jwt_key": ONCE_PRINTED_KEY},
    "a 1024-bit RSA key": {"jwt_algorithm": "RS256", "jwt_key": _pem(_rsa(1024))},
    "a P-192 key": {"jwt_algorithm": "ES256", "jwt_key": _pem(ec.generate_private_key(ec.SECP192R1()))},
    "a private key on a verifier": {"jwt_key": _pem(ed25519.Ed25519PrivateKey.generate(), private=True)},
    "no PEM at all": {"jwt_key": "-----BEGIN PUBLIC KEY-----\nbm9wZQ==\n-----END PUBLIC KEY-----"},
}
ACCEPTED_IN_PROD = {
    "an Ed25519 public key": {"jwt_key": TEST_PUBLIC_KEY},
    "a 2048-bit RSA public key": {"jwt_algorithm": "RS256", "jwt_key": _pem(_rsa(2048))},
    "a P-256 public key": {
        "jwt_algorithm": "ES256",
        "jwt_key": _pem(ec.generate_private_key(ec.SECP256R1())),
    },
    "the issuer's JWKS": {"jwt_jwks_url": "https://identity.example/.well-known/jwks.json"},
}


@pytest.mark.parametrize("case", REFUSED_IN_PROD)
def test_production_refuses_weak_token_keys(case):
    with pytest.raises(ValidationError):
        ServiceSettings(**PROD, **REFUSED_IN_PROD[case])


@pytest.mark.parametrize("case", ACCEPTED_IN_PROD)
def test_production_accepts_sound_token_keys(case):
    assert ServiceSettings(**PROD, **ACCEPTED_IN_PROD[case]).token_config()


IDENTITY_REFUSED_IN_PROD = {
    "no signing key": {},
    "an HS256 secret as signing key": {"signing_key": "r4nd0m-and-long-" * 4},
    "a 1024-bit RSA signing key": {"signing_key": _pem(_rsa(1024), private=True)},
    "the once printed demo password": {"signing_key": generate_pem(), "demo_password": "demo-border-1007"},
}


@pytest.mark.parametrize("case", IDENTITY_REFUSED_IN_PROD)
def test_production_refuses_an_issuer_without_a_sound_key(case):
    with pytest.raises(ValidationError):
        IdentitySettings(**PROD, **IDENTITY_REFUSED_IN_PROD[case])


def test_the_demo_password_is_never_the_printed_one():
    with pytest.raises(ValidationError):
        IdentitySettings(demo_password="demo-border-1007")
    first, second = IdentitySettings().demo_password, IdentitySettings().demo_password
    assert first != second and len(first) >= 10 and "demo-border-1007" not in (first, second)


def test_a_development_issuer_without_a_key_signs_with_one_of_its_own():
    issuer = IdentitySettings(environment="dev")
    token = issue_token(issuer.signing_config(), "u", [], timedelta(minutes=5))

    assert jwt.get_unverified_header(token) == {
        "alg": "EdDSA",
        "kid": issuer.issuer_keys.current.kid,
        "typ": "JWT",
    }
    assert verify_token(issuer.token_config(), token).subject == "u"
    with pytest.raises(HTTPException):
        verify_token(IdentitySettings(environment="dev").token_config(), token)  # another process's key


def test_key_ids_are_rfc7638_thumbprints():
    # RFC 8037, appendix A.3: the thumbprint of its Ed25519 example key.
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_test_tokens_carry_the_kid_of_the_session_key():
    token = issue_token(TEST_TOKENS, "u", [], timedelta(minutes=1))
    assert verify_token(TokenConfig("border-return", "border-return", TEST_PUBLIC_KEY), token).subject == "u"
    assert jwt.get_unverified_header(token)["kid"] == TEST_TOKENS.key_id


def _kid_token() -> str:
    return issue_token(
        TokenConfig("border-return", "border-return", KEY.private_pem, key_id=KEY.kid),
        "u",
        [],
        timedelta(minutes=5),
    )


def test_an_unreachable_key_set_is_a_quick_503_not_a_500():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = ServiceSettings(jwt_jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json").token_config()

    with pytest.raises(HTTPException) as caught:
        verify_token(config, _kid_token())

    assert caught.value.status_code == 503


def test_a_key_set_that_never_answers_is_a_503_within_its_timeout():
    with socket.socket() as silent:  # listens, never accepts: the connection opens, no answer comes
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/.well-known/jwks.json"
        config = ServiceSettings(jwt_jwks_url=url, jwt_jwks_timeout_seconds=0.5).token_config()
        started = time.monotonic()

        with pytest.raises(HTTPException) as caught:
            verify_token(config, _kid_token())

    assert caught.value.status_code == 503
    assert time.monotonic() - started < 3
