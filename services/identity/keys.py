"""The issuer's signing keys and the key set it publishes (JWKS) for the services to verify with.

One key signs (the current one); the keys before it stay published, so tokens they signed keep verifying
while they live and a service picks up the new key by its `kid` without a restart.
"""

import base64
import hashlib
import json
from dataclasses import dataclass

import jwt
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ALGORITHMS = (
    (ed25519.Ed25519PrivateKey, "EdDSA"),
    (rsa.RSAPrivateKey, "RS256"),
    (ec.EllipticCurvePrivateKey, "ES256"),
)
PUBLIC_ALGORITHMS = (
    (ed25519.Ed25519PublicKey, "EdDSA"),
    (rsa.RSAPublicKey, "RS256"),
    (ec.EllipticCurvePublicKey, "ES256"),
)
# RFC 7638: the members that make a key's thumbprint, per key type.
THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


def generate_pem() -> str:
    """A new Ed25519 private key, PKCS#8 PEM."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem(text: str) -> bytes:
    # A PEM passed through a one-line env file (docker compose's .env) may arrive with literal "\n".
    return text.replace("\\n", "\n").strip().encode()


def algorithm_of(private_key) -> str:
    for cls, name in ALGORITHMS:
        if isinstance(private_key, cls):
            return name
    raise ValueError(f"no token algorithm for a {type(private_key).__name__}")


def thumbprint(jwk: dict) -> str:
    members = {m: jwk[m] for m in THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_key, algorithm: str) -> dict:
    jwk = jwt.get_algorithm_by_name(algorithm).to_jwk(public_key, as_dict=True)
    return jwk | {"kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    private_pem: str
    private_key: object
    algorithm: str
    jwk: dict

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    @property
    def public_pem(self) -> str:
        public = self.private_key.public_key()
        fmt = serialization.PublicFormat.SubjectPublicKeyInfo
        return public.public_bytes(serialization.Encoding.PEM, fmt).decode()

    @classmethod
    def from_pem(cls, pem: str) -> "SigningKey":
        key = serialization.load_pem_private_key(_pem(pem), password=None)
        algorithm = algorithm_of(key)
        return cls(_pem(pem).decode(), key, algorithm, public_jwk(key.public_key(), algorithm))


def published_jwk(pem: str) -> dict:
    """The JWK of a previous key, given as its public key PEM (or its private key, of which only the
    public half is published)."""
    try:
        return SigningKey.from_pem(pem).jwk
    except (ValueError, TypeError):
        public = serialization.load_pem_public_key(_pem(pem))
    for cls, name in PUBLIC_ALGORITHMS:
        if isinstance(public, cls):
            return public_jwk(public, name)
    raise ValueError(f"no token algorithm for a {type(public).__name__}")


class IssuerKeys:
    """The current signing key and every key still published; a `KeySource` for the issuer's own checks."""

    def __init__(self, current: SigningKey, previous: list[dict]) -> None:
        self.current = current
        self.published = [current.jwk] + [k for k in previous if k["kid"] != current.kid]
        self._by_kid = {k["kid"]: jwt.PyJWK(k) for k in self.published}

    def jwks(self) -> dict:
        return {"keys": self.published}

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._by_kid:
            raise jwt.InvalidKeyError("unknown kid")
        return self._by_kid[kid]


def add_key_commands(cli: typer.Typer) -> None:
    keys = typer.Typer(no_args_is_help=True, help="The issuer's signing keys.")

    @keys.command()
    def generate() -> None:
        """Print a new Ed25519 private key (PEM) for IDENTITY_SIGNING_KEY(_FILE); keep it secret."""
        typer.echo(generate_pem(), nl=False)

    cli.add_typer(keys, name="keys")
