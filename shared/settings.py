"""Settings shared by every service; each service subclasses `ServiceSettings` with its own env prefix."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    consumer_enabled: bool = True
