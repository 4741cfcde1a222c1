"""Settings of the intake service (environment variables prefixed `INTAKE_`)."""

from datetime import date

from pydantic import BaseModel, ConfigDict
from pydantic_settings import SettingsConfigDict

from shared.contracts.intake import QuarantinePolicy
from shared.settings import ServiceSettings


class PolicyRule(BaseModel):
    """Where returnees of a checkpoint spend their 14 days, for arrivals between two dates (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint_id: str = "*"  # "*" matches every checkpoint
    policy: QuarantinePolicy
    starts_on: date | None = None
    ends_on: date | None = None


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_file=".env", extra="ignore")

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///.run/data/intake.db"
    http_port: int = 8001
    # The first matching rule wins; e.g. INTAKE_POLICY_RULES='[{"checkpoint_id":"KH-TH-13","policy":"home"}]'.
    policy_rules: list[PolicyRule] = []
    default_policy: QuarantinePolicy = QuarantinePolicy.border
    # Where the tablet page logs in (`POST {identity_url}/auth/token`); empty: same host, port 8000.
    identity_url: str = ""
    # How far an arrival time may lie ahead of the server clock (tablet clocks drift).
    clock_skew_minutes: int = 10
    # How long a tablet may hold a registration offline before it must be entered again.
    max_offline_days: int = 30
