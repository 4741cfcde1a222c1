"""Settings shared by every service; each service subclasses `ServiceSettings` with its own env prefix."""

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.web.auth import TokenConfig

DEV_JWT_KEY = "dev-only-key-not-for-production-use-0000"  # refused when BORDER_ENV=prod


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
    # Tokens are verified only; the same values must be given to the issuer.
    jwt_issuer: str = Field("border-return", validation_alias=AliasChoices("JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field("border-return", validation_alias=AliasChoices("JWT_AUDIENCE", "jwt_audience"))
    jwt_key: str = Field(DEV_JWT_KEY, validation_alias=AliasChoices("JWT_KEY", "jwt_key"))
    jwt_algorithm: str = Field("HS256", validation_alias=AliasChoices("JWT_ALGORITHM", "jwt_algorithm"))
    environment: Literal["dev", "test", "prod"] = Field(
        "dev", validation_alias=AliasChoices("BORDER_ENV", "environment")
    )
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
    def _revocations_checked_in_prod(self):
        if self.environment == "prod" and not self.jwt_revocations_url:
            raise ValueError("JWT_REVOCATIONS_URL must be set in production: revoked tokens would pass")
        return self

    @model_validator(mode="after")
    def _no_dev_key_in_prod(self):
        if self.environment == "prod" and self.jwt_key == DEV_JWT_KEY:
            raise ValueError("JWT_KEY must be set to a real key in production")
        return self

    def token_config(self) -> TokenConfig:
        return TokenConfig(self.jwt_issuer, self.jwt_audience, self.jwt_key, self.jwt_algorithm)
