"""Settings of the dashboard service (environment variables prefixed `DASHBOARD_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", env_file=".env", extra="ignore")

    service_name: str = "dashboard"
    database_url: str = "sqlite+aiosqlite:///.run/data/dashboard.db"
    http_port: int = 8005
    # The read model's consumer group; a rebuild rewinds this group to the start of every topic.
    consumer_group: str = "dashboard"
    # Consumers of that group in this process: more than one overlaps their database round trips (a rebuild
    # catches up faster); rows are locked while updated. Keep 1 on SQLite, which has a single writer.
    consumers: int = Field(1, ge=1, le=6)
    # A checkpoint with no registration synced for this long is flagged stale in the reports.
    stale_after_hours: float = Field(6.0, gt=0)
    # Where the page logs in (`POST {identity_url}/auth/token`); empty: same host, port 8000.
    identity_url: str = ""
    # How often (seconds) the page asks for fresh figures.
    refresh_seconds: float = Field(3.0, gt=0, le=300)
