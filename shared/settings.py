"""Settings shared by every service; each service subclasses `ServiceSettings` with its own env prefix."""

import hashlib
from datetime import datetime
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from jwt import PyJWKClient
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.web.auth import TokenConfig

# SHA-256 of keys once printed in this repository (the HS256 development key): refused everywhere.
PRINTED_KEYS = frozenset({"a5016d3f33c886f135925dc7534077ed0090906e14b869ae72b2042640602dbb"})
LOCAL_JWKS_URL = "http://127.0.0.1:8000/.well-known/jwks.json"  # the identity service of the local run


def printed_in_the_repository(value: str) -> bool:
    return hashlib.sha256(value.encode()).hexdigest() in PRINTED_KEYS


def public_key_weakness(pem: str) -> str | None:
    """Why `pem` is no public key a production verifier may hold (None when it is a sound one)."""
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        pass
    else:
        return "is a private key: a service that only verifies must hold the public key alone"
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        return "is not a public key in PEM (shared secrets are refused in production)"
    return key_weakness(key)


def key_weakness(key) -> str | None:
    """Why an asymmetric key (private or public) is too weak to sign tokens, if it is."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) and key.key_size < 2048:
        return f"is an RSA key of {key.key_size} bits (at least 2048)"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and key.curve.key_size < 256:
        return f"is on the curve {key.curve.name} (at least 256 bits)"
    known = (rsa.RSAPublicKey, rsa.RSAPrivateKey, ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)
    edwards = (
        ed25519.Ed25519PublicKey,
        ed25519.Ed25519PrivateKey,
        ed448.Ed448PublicKey,
        ed448.Ed448PrivateKey,
    )
    if not isinstance(key, known + edwards):
        return f"is a {type(key).__name__}, not a signing key"
    return None


class ServiceSettings(BaseSettings):
    """What every service needs to run: its database, the broker and its HTTP port.

    Built at start-up (`Settings()`), never at import, so tests pass values explicitly.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = "service"
    database_url: str = "sqlite+aiosqlite:///./service.db"
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers")
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    # The relay wakes on every local commit; the poll only catches rows written by other processes.
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 500
    consumer_max_attempts: int = 3
    # Records taken per poll, and so handled in one transaction per partition; 1 = one commit per event.
    consumer_max_batch: int = 500
    consumer_enabled: bool = True
    # A consumer silent this long is dropped from its group and its partitions go to the other instances.
    consumer_session_timeout_ms: int = 10000
    consumer_heartbeat_interval_ms: int = 3000
    # A background loop with work waiting and no progress for this long is reported and replaced; it must
    # be longer than the interval of every timer loop (scheduler, scanner, auto-dispatch).
    loop_stall_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("LOOP_STALL_SECONDS", "loop_stall_seconds")
    )
    # The demo clock: every service of a deployment gets the same epoch and speed.
    clock_speed: float = Field(1.0, validation_alias=AliasChoices("CLOCK_SPEED", "clock_speed"))
    clock_epoch: datetime | None = Field(None, validation_alias=AliasChoices("CLOCK_EPOCH", "clock_epoch"))
    # Prepended to every topic name: isolates tests (and tenants) sharing one broker.
    topic_prefix: str = Field("", validation_alias=AliasChoices("TOPIC_PREFIX", "topic_prefix"))
    # Tokens are verified only, with the issuer's public keys: fetched from its JWKS by the token's kid
    # (so keys rotate without a restart), or one static public key PEM in JWT_KEY, which then wins.
    jwt_issuer: str = Field("border-return", validation_alias=AliasChoices("JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field("border-return", validation_alias=AliasChoices("JWT_AUDIENCE", "jwt_audience"))
    jwt_key: str = Field("", validation_alias=AliasChoices("JWT_KEY", "jwt_key"))
    jwt_algorithm: str = Field("EdDSA", validation_alias=AliasChoices("JWT_ALGORITHM", "jwt_algorithm"))
    jwt_jwks_url: str = Field(LOCAL_JWKS_URL, validation_alias=AliasChoices("JWT_JWKS_URL", "jwt_jwks_url"))
    # Where Swagger's "Authorize" asks for a token: identity's, on another port (or an OIDC provider's).
    jwt_token_url: str = Field(
        "http://127.0.0.1:8000/auth/token", validation_alias=AliasChoices("JWT_TOKEN_URL", "jwt_token_url")
    )
    # A fetch blocks the request that needs it, so it must be short; the set is kept this long, and an
    # unknown kid refetches it at most once per cooldown (a rotated key shows up within that).
    jwt_jwks_timeout_seconds: float = Field(
        2.0, gt=0, validation_alias=AliasChoices("JWT_JWKS_TIMEOUT_SECONDS", "jwt_jwks_timeout_seconds")
    )
    jwt_jwks_cache_seconds: float = Field(
        300.0, gt=0, validation_alias=AliasChoices("JWT_JWKS_CACHE_SECONDS", "jwt_jwks_cache_seconds")
    )
    jwt_jwks_cooldown_seconds: float = Field(
        30.0, ge=0, validation_alias=AliasChoices("JWT_JWKS_COOLDOWN_SECONDS", "jwt_jwks_cooldown_seconds")
    )
    environment: Literal["dev", "test", "prod"] = Field(
        "dev", validation_alias=AliasChoices("BORDER_ENV", "environment")
    )
    # The bearer token Prometheus scrapes /metrics with, one for every service; unset, only loopback
    # callers may scrape, and production refuses to start.
    metrics_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("METRICS_TOKEN", "metrics_token")
    )
    # Request bodies above this are refused with 413 before anything reads them (per service:
    # <PREFIX>_MAX_BODY_BYTES).
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    # Broker refusals of one outbox row (too large, topic unknown or forbidden) before it is parked.
    outbox_max_attempts: int = Field(5, gt=0)
    # Token revocation: identity's `GET /auth/revocations`, read again this often (a revoked token is refused
    # at most this long after); unset, nothing is checked, which production refuses.
    jwt_revocations_url: str | None = Field(
        None, validation_alias=AliasChoices("JWT_REVOCATIONS_URL", "jwt_revocations_url")
    )
    jwt_revocations_refresh_seconds: float = Field(
        30.0,
        gt=0,
        le=30,
        validation_alias=AliasChoices("JWT_REVOCATIONS_REFRESH_SECONDS", "jwt_revocations_refresh_seconds"),
    )

    @model_validator(mode="after")
    def _nothing_known_or_missing_in_production(self):
        if printed_in_the_repository(self.jwt_key):
            raise ValueError("JWT_KEY is a key printed in the repository")
        if not self.jwt_key and not self.jwt_jwks_url:
            raise ValueError("set JWT_JWKS_URL (the issuer's key set) or JWT_KEY (its public key)")
        if self.environment == "prod":
            if self.jwt_algorithm.upper().startswith("HS") or self.jwt_algorithm.lower() == "none":
                raise ValueError(
                    f"JWT_ALGORITHM {self.jwt_algorithm} is refused in production: use EdDSA or RS256"
                )
            why = self.jwt_key and public_key_weakness(self.jwt_key)
            if why:
                raise ValueError(f"JWT_KEY {why}")
        if self.environment == "prod" and not self.metrics_token:
            raise ValueError("METRICS_TOKEN must be set in production: /metrics shows per-checkpoint counts")
        if self.environment == "prod" and not self.jwt_revocations_url:
            raise ValueError("JWT_REVOCATIONS_URL must be set in production: revoked tokens would pass")
        return self

    def token_config(self) -> TokenConfig:
        if self.jwt_key:
            return TokenConfig(self.jwt_issuer, self.jwt_audience, self.jwt_key, self.jwt_algorithm)
        jwks = PyJWKClient(
            self.jwt_jwks_url,
            lifespan=self.jwt_jwks_cache_seconds,
            timeout=self.jwt_jwks_timeout_seconds,
            cooldown_duration=self.jwt_jwks_cooldown_seconds,
        )
        return TokenConfig(self.jwt_issuer, self.jwt_audience, algorithm=self.jwt_algorithm, jwks=jwks)
