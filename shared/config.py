"""Settings shared by every service, read from environment variables with a per-service prefix.

``IDENTITY_HTTP_PORT`` sets identity's port; the unprefixed ``MONGODB_URL`` and ``AMQP_URL``
are read by every service so one export points the whole platform at other infrastructure.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _shared(name: str, default):
    """A field read from the platform-wide variable ``NAME``, not the service's prefix."""
    return Field(default, validation_alias=AliasChoices(name))


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it with its own prefix and defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    mongodb_url: str = _shared("MONGODB_URL", "mongodb://127.0.0.1:27117")
    database: str = ""
    amqp_url: str = _shared("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    # Names of the exchange and every queue start with this; tests give each run its own.
    bus_prefix: str = _shared("BUS_PREFIX", "bap")
    prefetch: int = 32
    delivery_limit: int = 10
    retry_delays: list[float] = [1.0, 5.0, 30.0, 120.0]
    relay_poll_seconds: float = 1.0
    relay_lease_seconds: float = 30.0
    # Proxies of ours in front of the service that append to X-Forwarded-For (0: none; the
    # peer address is the client's). Rate limits per client address read it.
    trusted_proxy_hops: int = 0
    max_body_bytes: int = 1_048_576
    max_event_bytes: int = 1_048_576
    log_level: str = _shared("LOG_LEVEL", "INFO")
    log_format: str = _shared("LOG_FORMAT", "json")
    # Where identity publishes its signing keys; every service verifies tokens against it.
    jwks_url: str = _shared("JWKS_URL", "http://127.0.0.1:8001/.well-known/jwks.json")
    token_issuer: str = _shared("TOKEN_ISSUER", "bap-identity")
    token_audience: str = _shared("TOKEN_AUDIENCE", "bap")

    @property
    def database_name(self) -> str:
        return self.database or self.service_name
