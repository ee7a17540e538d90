from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class IdentitySettings(ServiceSettings):
    """Environment variables start with ``IDENTITY_`` (e.g. ``IDENTITY_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "identity"
    http_port: int = 8001
    registration_link_hours: int = 72
    access_token_seconds: int = 600
