"""The issuer signs with a private key and publishes the public ones as a JWKS; the services verify with
PyJWT's PyJWKClient against it, over a real port, and pick up a rotated key without a restart."""

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import APIRouter

from services.identity import main as identity_main
from services.identity.keys import generate_pem
from services.identity.settings import Settings as IdentitySettings
from shared.settings import ServiceSettings
from shared.web.auth import Grant, Principal, Role, issue_token, require, verify_token
from shared.web.service import create_service_app
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


def _hs256_signed_with(secret: str, kid: str | None = None) -> str:
    """The algorithm-confusion forgery: HS256 keyed with something public (a PEM, a JWK)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})).encode())
    claims = {"iss": "border-return", "aud": "border-return", "sub": "x", "iat": 1, "exp": 4102444800}
    payload = _b64(json.dumps(claims | {"roles": [{"role": "national_admin", "scope": "KH"}]}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


async def test_rs256_tokens_verify_with_the_public_key_alone(quiet_stack, key_pair):
    private, public = key_pair
    identity = await start_identity(quiet_stack, signing_key=private)
    await add_user(identity, "pwg.bmc", ("provincial_wg", "01"))

    token = (await login(identity, "pwg.bmc")).json()["access_token"]

    service = ServiceSettings(jwt_key=public, jwt_algorithm="RS256").token_config()
    assert verify_token(service, token).subject == "pwg.bmc"
    assert (
        await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200
    for forged in (_hs256_signed_with(public), bearer(("national_admin", "KH"))["Authorization"][7:]):
        r = await identity.client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401


class Issuer:
    """Identity's app served by uvicorn on a real port, in a thread of its own (PyJWKClient fetches with
    blocking urllib). Only its JWKS is asked for, so it runs without its lifespan (no database)."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.app = identity_main.create_app(settings)
        self.settings = settings
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(
            self.app, port=self.port, lifespan="off", log_config=None, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    def rotate(self, settings: IdentitySettings) -> None:
        """What a restart of identity with a new IDENTITY_SIGNING_KEY (the old one in IDENTITY_PREVIOUS_KEYS)
        serves; the verifying service is not touched."""
        self.settings = settings
        self.app.state.issuer_keys = settings.issuer_keys

    def token(self, subject: str) -> str:
        grants = [Grant(role=Role.provincial_wg, scope="01")]
        return issue_token(self.settings.signing_config(), subject, grants, timedelta(minutes=5))

    def __enter__(self) -> "Issuer":
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def verifying_service(jwks_url: str):
    """A service as create_service_app wires it, on default settings but for the JWKS URL; an unknown kid
    refetches the set at once (the default waits 30 s between such refetches)."""
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: Annotated[Principal, require(*Role)]) -> dict:
        return {"sub": principal.subject}

    settings = ServiceSettings(jwt_jwks_url=jwks_url, jwt_jwks_cooldown_seconds=0)
    app = create_service_app(settings, title="verifier", routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://verifier")


async def _whoami(client, token: str) -> httpx.Response:
    # The service's fetch of the key set blocks this loop (urllib), as it blocks a service's; the issuer
    # answers from its own thread.
    return await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_services_verify_through_the_jwks_and_pick_up_a_rotated_key_without_a_restart():
    first_pem, second_pem = generate_pem(), generate_pem()
    with Issuer(IdentitySettings(environment="test", signing_key=first_pem)) as issuer:
        jwks = (await asyncio.to_thread(httpx.get, issuer.jwks_url)).json()
        first = issuer.settings.issuer_keys.current
        assert [k["kid"] for k in jwks["keys"]] == [first.kid]
        assert jwks["keys"][0]["kty"] == "OKP" and "d" not in jwks["keys"][0]  # public half only
        async with verifying_service(issuer.jwks_url) as client:
            old_token = issuer.token("before")
            r = await _whoami(client, old_token)
            assert (r.status_code, r.json()) == (200, {"sub": "before"})

            issuer.rotate(
                IdentitySettings(environment="test", signing_key=second_pem, previous_keys=[first_pem])
            )
            new_token = issuer.token("after")

            assert (await _whoami(client, new_token)).json() == {"sub": "after"}
            assert (await _whoami(client, old_token)).status_code == 200  # still published
            stranger = IdentitySettings(environment="test")  # a key identity never published
            forged = issue_token(stranger.signing_config(), "mallory", [], timedelta(minutes=5))
            assert (await _whoami(client, forged)).status_code == 401
            assert (await _whoami(client, _hs256_signed_with(json.dumps(jwks), first.kid))).status_code == 401

            issuer.rotate(IdentitySettings(environment="test", signing_key=second_pem))  # the old key retired
            assert (await _whoami(client, new_token)).status_code == 200
        async with verifying_service(issuer.jwks_url) as fresh:  # a service started after the retirement
            assert (await _whoami(fresh, old_token)).status_code == 401


async def test_a_service_whose_issuer_is_down_answers_503_not_500():
    with Issuer(IdentitySettings(environment="test")) as issuer:
        token = issuer.token("someone")
        url = issuer.jwks_url
    async with verifying_service(url) as client:
        r = await _whoami(client, token)

    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
