"""Settings of the notify service (environment variables prefixed `NOTIFY_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=".env", extra="ignore")

    service_name: str = "notify"
    database_url: str = "sqlite+aiosqlite:///.run/data/notify.db"
    http_port: int = 8004
