"""Settings shared by every service, read from environment variables with a per-service prefix.

``IDENTITY_HTTP_PORT`` sets identity's port; the unprefixed ``MONGODB_URL`` and ``AMQP_URL``
are read by every service so one export points the whole platform at other infrastructure.

Every setting can also come from a file: with ``SECRETS_DIR=/run/secrets`` the file
``/run/secrets/identity_code_pepper`` (or ``IDENTITY_CODE_PEPPER``) holds that setting, as
Docker and Kubernetes mount Secrets; an environment variable wins over a file.

Settings declared with ``dev_default(...)`` (peppers, the key-encryption key, the card
sandbox) have a default that is only good on a developer's machine: a service refuses to
start with one unless ``BAP_DEV_MODE=true`` (``refuse_development_defaults``).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

DEV_MODE_VARIABLE = "BAP_DEV_MODE"
SECRETS_DIR_VARIABLE = "SECRETS_DIR"
_DEV_DEFAULT = "bap_development_default"


def _shared(name: str, default: Any) -> Any:
    """A field read from the platform-wide variable ``NAME``, not the service's prefix."""
    return Field(default, validation_alias=AliasChoices(name))


def dev_default(default: Any, **kw: Any) -> Any:
    """A field whose default is for development only (a pepper, a key, a sandbox): outside
    development mode a service refuses to start while it still has this value."""
    extra = {**kw.pop("json_schema_extra", {}), _DEV_DEFAULT: True}
    return Field(default, json_schema_extra=extra, **kw)


class DevelopmentDefaultRefused(Exception):
    """Settings that keep a development-only default outside development mode."""

    def __init__(self, variables: list[str]) -> None:
        self.variables = variables
        super().__init__(
            f"refusing to start: {', '.join(variables)} still "
            f"{'has its' if len(variables) == 1 else 'have their'} development default (or a "
            f"secret shorter than {MIN_SECRET_CHARS} characters or of one repeated character); set "
            f"{'it' if len(variables) == 1 else 'them'} (or a file in {SECRETS_DIR_VARIABLE}), "
            f"or set {DEV_MODE_VARIABLE}=true on a developer machine")


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
    # Unacknowledged deliveries per consumer: the handlers one process runs at once. 128 lets a
    # burst's inserts go as a few batched commands (shared/batching.py) so the consumer keeps
    # up with a producer of the same process (bench/bus.py: p99 at 32 was 11×, at 128 2–2.4×
    # the raw baseline's).
    prefetch: int = 128
    delivery_limit: int = 10
    retry_delays: list[float] = [1.0, 5.0, 30.0, 120.0]
    relay_poll_seconds: float = 1.0
    # On SIGTERM/SIGINT: how long the in-flight HTTP requests and event handlers get to finish
    # before what is left is cancelled and its events requeued. Keep it below the orchestrator's
    # own limit (Kubernetes terminationGracePeriodSeconds, default 30) so the process is never
    # killed mid-drain.
    shutdown_grace_seconds: float = _shared("SHUTDOWN_GRACE_SECONDS", 20.0)
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
    # Development mode (make run, make test, make bench): development-only defaults allowed.
    dev_mode: bool = _shared(DEV_MODE_VARIABLE, False)

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # SECRETS_DIR is read at construction time, so one image serves every environment.
        secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE)
        sources = [init_settings, env_settings, dotenv_settings]
        if secrets_dir:
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        return tuple(sources)

    def development_defaults(self) -> list[str]:
        """The variables of dev_default settings that still hold their default."""
        prefix = (self.model_config.get("env_prefix") or "").upper()
        found = []
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            if not isinstance(extra, dict) or not extra.get(_DEV_DEFAULT):
                continue
            value = getattr(self, name)
            if _plain(value) == _plain(info.default) or _weak(value):
                found.append(f"{prefix}{name.upper()}")
        return found

    @property
    def database_name(self) -> str:
        return self.database or self.service_name


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


# A secret that replaces a development default must be worth its name: a pepper of "x" or a
# key of 32 equal characters is as guessable as the default it replaced.
MIN_SECRET_CHARS = 32


def _weak(value: Any) -> bool:
    if not isinstance(value, SecretStr):
        return False
    text = value.get_secret_value().strip()
    return len(text) < MIN_SECRET_CHARS or len(set(text.rstrip("="))) <= 2


def refuse_development_defaults(settings: ServiceSettings) -> None:
    """Raise ``DevelopmentDefaultRefused`` naming each variable that keeps a development-only
    default, unless ``BAP_DEV_MODE`` is true. Called where a service starts."""
    if settings.dev_mode:
        return
    variables = settings.development_defaults()
    if variables:
        raise DevelopmentDefaultRefused(variables)
