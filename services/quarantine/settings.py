"""Settings of the quarantine service (environment variables prefixed `QUARANTINE_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUARANTINE_", env_file=".env", extra="ignore")

    service_name: str = "quarantine"
    database_url: str = "sqlite+aiosqlite:///.run/data/quarantine.db"
    http_port: int = 8002
    # Whole days of quarantine, counted from the start date in Cambodia's time zone.
    quarantine_days: int = Field(14, ge=1, le=60)
    # A temperature at or above this is a symptom (fever), whatever the symptom list says.
    fever_threshold_c: float = 37.5
    # Release needs a clear check-in within this many days before the release date (0: on the day itself).
    final_checkin_days: int = Field(1, ge=0, le=14)
    # Off only for demos where nobody records check-ins: release then needs no final check-in.
    require_final_checkin: bool = True
    # How often (real seconds) the scheduler looks for episodes to release and waiting returnees to place.
    scheduler_seconds: float = Field(5.0, gt=0)
    # Where the staff page logs in (`POST {identity_url}/auth/token`); empty: same host, port 8000.
    identity_url: str = ""
