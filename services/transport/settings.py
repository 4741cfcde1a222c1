"""Settings of the transport service (environment variables prefixed `TRANSPORT_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSPORT_", env_file=".env", extra="ignore")

    service_name: str = "transport"
    database_url: str = "sqlite+aiosqlite:///.run/data/transport.db"
    http_port: int = 8003
