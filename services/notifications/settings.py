from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Environment variables start with ``NOTIFICATIONS_`` (e.g. ``NOTIFICATIONS_SMTP_HOST``)."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "notifications"
    http_port: int = 8004
    # Back-off between delivery attempts (exponential); after the last one the delivery is
    # failed, notifications.delivery.failed.v1 is published and the event parked.
    retry_delays: list[float] = Field(default_factory=lambda: [2.0, 8.0, 32.0, 128.0, 512.0])
    # Sends in flight per worker, and so what a killed worker may repeat (README, Reliability):
    # kept below the kit's default; smtp_connections bounds the sends anyway.
    prefetch: int = 32
    # Links in messages point into the portal front end.
    portal_base_url: str = "http://localhost:3000"
    # Dates and times in messages are shown in this zone.
    time_zone: str = "Europe/Berlin"
    mail_from: str = "Business Portal <no-reply@business.example>"
    # No SMTP host: every email is written as an .eml file under mail_dir.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 15.0
    # SMTP connections each provider keeps open and sends over, one message at a time each
    # (a connection, EHLO, STARTTLS and AUTH are paid once, not per message).
    smtp_connections: int = 8
    # Optional secondary SMTP relay that takes over while the primary keeps failing.
    smtp_secondary_host: str = ""
    smtp_secondary_port: int = 587
    smtp_secondary_username: str = ""
    smtp_secondary_password: SecretStr = SecretStr("")
    smtp_secondary_starttls: bool = False
    smtp_secondary_tls: bool = False
    mail_dir: str = "var/mail"
    # SMS over an HTTP gateway (JSON); no URL: every SMS is written as a .json file to sms_dir.
    sms_gateway_url: str = ""
    sms_gateway_username: str = ""
    sms_gateway_password: SecretStr = SecretStr("")
    sms_gateway_secondary_url: str = ""
    sms_gateway_secondary_username: str = ""
    sms_gateway_secondary_password: SecretStr = SecretStr("")
    sms_timeout_seconds: float = 10.0
    sms_sender: str = "Business"
    sms_dir: str = "var/sms"
    # Phone numbers without a country code are read as numbers of this region.
    sms_default_region: str = "HU"
    # Circuit breaker per channel: this many consecutive transient failures of the primary
    # within the window switch to the secondary for the cool-down, then the primary is tried.
    failover_after_failures: int = 3
    failover_window_seconds: float = 300.0
    failover_cooldown_seconds: float = 120.0
    # How long one worker holds a delivery while sending it (longer than a send can take).
    claim_seconds: float = 60.0
