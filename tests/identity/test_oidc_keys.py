"""An issuer signing with a private key, services holding only the public one: the OIDC arrangement."""

import base64
import hashlib
import hmac
import json

import pytest

from shared.web.auth import TokenConfig, verify_token
from tests.conftest import bearer
from tests.identity.conftest import add_user, login, start_identity

serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_signed_with(public_pem: str) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the (public) RSA key."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": "border-return", "aud": "border-return", "sub": "x", "iat": 1, "exp": 4102444800}
    payload = _b64(json.dumps(claims | {"roles": [{"role": "national_admin", "scope": "KH"}]}).encode())
    signature = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


async def test_rs256_tokens_verify_with_the_public_key_alone(quiet_stack, key_pair):
    private, public = key_pair
    identity = await start_identity(quiet_stack, jwt_algorithm="RS256", jwt_key=public, signing_key=private)
    await add_user(identity, "pwg.bmc", ("provincial_wg", "01"))

    token = (await login(identity, "pwg.bmc")).json()["access_token"]

    principal = verify_token(TokenConfig("border-return", "border-return", public, "RS256"), token)
    assert principal.subject == "pwg.bmc"
    assert (
        await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200
    for forged in (_hs256_signed_with(public), bearer(("national_admin", "KH"))["Authorization"][7:]):
        r = await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
