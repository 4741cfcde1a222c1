"""Settings of the quarantine service (environment variables prefixed `QUARANTINE_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUARANTINE_", env_file=".env", extra="ignore")

    service_name: str = "quarantine"
    database_url: str = "sqlite+aiosqlite:///.run/data/quarantine.db"
    http_port: int = 8002
