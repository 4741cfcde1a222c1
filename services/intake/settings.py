"""Settings of the intake service (environment variables prefixed `INTAKE_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_file=".env", extra="ignore")

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///.run/data/intake.db"
    http_port: int = 8001
