"""Settings of the identity service (environment variables prefixed `IDENTITY_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from shared.web.auth import TokenConfig

PAGE_PORTS = range(8000, 8010)  # identity, the services and their pages on the local run


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", env_file=".env", extra="ignore")

    service_name: str = "identity"
    database_url: str = "sqlite+aiosqlite:///.run/data/identity.db"
    http_port: int = 8000
    # A shift: an officer logs in once per shift, the offline tablet keeps working that long.
    token_ttl_minutes: int = 8 * 60
    # With RS256/ES256 the issuer signs with a private key; services keep only the public one (JWT_KEY).
    signing_key: str | None = None
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
    # The password of every `seed-demo` user (the local run only; refused when BORDER_ENV=prod).
    demo_password: str = "demo-border-1007"  # noqa: S105 - printed to the demo operator on purpose

    def signing_config(self) -> TokenConfig:
        """How this issuer signs: the verifying config, with the private key when there is one."""
        verify = self.token_config()
        return TokenConfig(verify.issuer, verify.audience, self.signing_key or verify.key, verify.algorithm)
