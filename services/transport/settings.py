"""Settings of the transport service (environment variables prefixed `TRANSPORT_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSPORT_", env_file=".env", extra="ignore")

    service_name: str = "transport"
    database_url: str = "sqlite+aiosqlite:///.run/data/transport.db"
    http_port: int = 8003
    # Where the working group's page logs in (`POST {identity_url}/auth/token`); empty: same host, port 8000.
    identity_url: str = ""
    # The demo's hands-free mode: propose, confirm and dispatch full (or long-waiting) vehicles, and hand
    # everyone over at the expected arrival. Off in production: there, staff do each step.
    auto_dispatch: bool = False
    auto_dispatch_max_wait_minutes: float = Field(60.0, gt=0)  # on the (demo) clock
    auto_dispatch_interval_seconds: float = Field(2.0, gt=0)  # real seconds between two rounds
