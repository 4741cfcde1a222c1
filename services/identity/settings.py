"""Settings of the identity service (environment variables prefixed `IDENTITY_`)."""

import secrets
from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import SettingsConfigDict

from services.identity.keys import IssuerKeys, SigningKey, generate_pem, published_jwk
from shared.settings import ServiceSettings, key_weakness, printed_in_the_repository
from shared.web.auth import TokenConfig

# The demo password this file once printed: refused, so no copy of the old default logs anyone in.
PRINTED_DEMO_PASSWORDS = frozenset({"demo-border-1007"})

PAGE_PORTS = range(8000, 8010)  # identity, the services and their pages on the local run


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", env_file=".env", extra="ignore")

    service_name: str = "identity"
    database_url: str = "sqlite+aiosqlite:///.run/data/identity.db"
    http_port: int = 8000
    # A shift: an officer logs in once per shift, the offline tablet keeps working that long.
    token_ttl_minutes: int = 8 * 60
    # The private key tokens are signed with (Ed25519 for EdDSA; RSA or P-256 work too), PEM, or a file
    # holding it. Without one a development issuer makes a key that lives as long as the process.
    signing_key: str | None = None
    signing_key_file: Path | None = None
    # Keys signed with before the current one (PEM, public or private; a JSON list), still published in
    # the JWKS until the tokens they signed have expired (one token lifetime after a rotation).
    previous_keys: list[str] = []
    # The brake on password guessing: after this many failures in a row from one client address, that
    # address waits this long (real time) for that username; the officer's own tablet is not locked.
    max_failed_logins: int = 5
    lockout_minutes: float = 15
    failed_login_delay_seconds: float = 0.3
    # Logins allowed (moving window, `limits` notation) from one client address and from all together,
    # counted before argon2 runs: the overall one keeps the hashing within what the machine can do.
    login_rate_per_client: str = "30/minute"
    login_rate_global: str = "20/second"
    # The pages of the other services, which post their login form here (JSON array in the env var).
    cors_origins: list[str] = [f"http://{h}:{p}" for h in ("127.0.0.1", "localhost") for p in PAGE_PORTS]
    # The password of every `seed-demo` user (the local run only; seed-demo is refused when BORDER_ENV=prod).
    # Random unless given: the run command keeps one under .run/secrets/ and prints it.
    demo_password: str = Field(default_factory=lambda: secrets.token_urlsafe(12), min_length=10)
    _keys: IssuerKeys = PrivateAttr()

    @model_validator(mode="after")
    def _load_keys(self):
        if self.demo_password in PRINTED_DEMO_PASSWORDS:
            raise ValueError("IDENTITY_DEMO_PASSWORD is a password printed in the repository")
        pem = self.signing_key or (self.signing_key_file.read_text() if self.signing_key_file else None)
        if pem is None and self.environment == "prod":
            raise ValueError("set IDENTITY_SIGNING_KEY or IDENTITY_SIGNING_KEY_FILE in production")
        if pem is not None and printed_in_the_repository(pem):
            raise ValueError("IDENTITY_SIGNING_KEY is a key printed in the repository")
        try:
            current = SigningKey.from_pem(pem or generate_pem())
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "IDENTITY_SIGNING_KEY must be a private key in PEM (an HS256 secret is refused)"
            ) from exc
        why = key_weakness(current.private_key)
        if why and self.environment == "prod":
            raise ValueError(f"IDENTITY_SIGNING_KEY {why}")
        self._keys = IssuerKeys(current, [published_jwk(p) for p in self.previous_keys])
        return self

    @property
    def issuer_keys(self) -> IssuerKeys:
        return self._keys

    def signing_config(self) -> TokenConfig:
        """How this issuer signs: its current private key, named by its kid in every token."""
        key = self._keys.current
        return TokenConfig(self.jwt_issuer, self.jwt_audience, key.private_pem, key.algorithm, key_id=key.kid)

    def token_config(self) -> TokenConfig:
        # The issuer checks its own tokens (GET /auth/me) against the keys it holds: fetching its own JWKS
        # over HTTP would block the event loop that has to answer it.
        algorithm = self._keys.current.algorithm
        return TokenConfig(self.jwt_issuer, self.jwt_audience, algorithm=algorithm, jwks=self._keys)
