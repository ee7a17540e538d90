from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Environment variables start with ``NOTIFICATIONS_`` (e.g. ``NOTIFICATIONS_SMTP_HOST``)."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "notifications"
    http_port: int = 8004
    # Links in messages point into the portal front end.
    portal_base_url: str = "http://localhost:3000"
    mail_from: str = "Business Portal <no-reply@business.example>"
    # No SMTP host: every email is written as an .eml file under mail_dir.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 15.0
    mail_dir: str = "var/mail"
