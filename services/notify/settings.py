"""Settings of the notify service (environment variables prefixed `NOTIFY_`)."""

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=".env", extra="ignore")

    service_name: str = "notify"
    database_url: str = "sqlite+aiosqlite:///.run/data/notify.db"
    http_port: int = 8004
    # Where Kannel reaches us back (delivery reports); the inbound URL is set in Kannel's own config.
    public_url: str = "http://127.0.0.1:8004"
    # Where the officers' page logs in (`POST {identity_url}/auth/token`); empty: same host, port 8000.
    identity_url: str = ""

    # Kannel smsbox (deploy/kannel/kannel.conf.template gets the same credentials). No defaults: a secret in
    # the repository is everyone's. An empty inbound secret refuses every callback; production refuses it.
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_send_user: str = "notify"
    kannel_send_password: str = ""
    kannel_inbound_secret: str = ""
    # Who may call /kannel/*: IPs, networks (CIDR) or host names (resolved now and then, e.g. compose's
    # ["kannel"]); anyone else gets 403 before the secret is looked at. A JSON list in the environment.
    kannel_callback_allow: list[str] = ["127.0.0.1", "::1"]
    sms_sender: str = "1294"
    # bearerbox's status page, read for the queue-length gauges when /metrics is scraped ("" turns it off).
    kannel_status_url: str = "http://127.0.0.1:13000/status.txt"
    kannel_status_password: str = ""
    # 1 delivered + 2 failed + 8 taken by the SMS centre + 16 rejected by it. 8 comes at once (1 may take
    # hours): it settles an SMS whose sender died before writing down Kannel's answer (worker.py).
    dlr_mask: int = 27
    dlr_enabled: bool = True

    # Webhooks: private and loopback targets only for local runs and tests; plain http (personal data in
    # clear) only there too, and never when BORDER_ENV=prod.
    webhooks_allow_private: bool = False
    webhooks_allow_http: bool = False
    # The whole delivery (connect, send, answer), not each read.
    webhook_timeout_seconds: float = 5.0

    # The delivery worker.
    delivery_poll_seconds: float = 0.1
    delivery_batch_size: int = 50
    delivery_concurrency: int = 10
    delivery_max_attempts: int = 20  # about an hour of backoff before giving up
    delivery_backoff_seconds: float = 1.0
    delivery_backoff_max_seconds: float = 300.0
    # A claimed row older than this was being sent when the process died.
    delivery_lease_seconds: float = 60.0

    # Follow-up: the visit is due this long after hand-over; 14 clear days complete it.
    visit_due_hours: float = 48.0
    followup_days: int = 14
    scan_interval_seconds: float = 5.0

    @model_validator(mode="after")
    def _kannel_credentials_in_prod(self):
        if self.environment == "prod":
            for name in ("kannel_inbound_secret", "kannel_send_password"):
                if not getattr(self, name):
                    raise ValueError(f"NOTIFY_{name.upper()} must be set in production")
        return self
