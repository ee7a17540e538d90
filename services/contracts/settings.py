from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class ContractsSettings(ServiceSettings):
    """Environment variables start with ``CONTRACTS_`` (e.g. ``CONTRACTS_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "contracts"
    http_port: int = 8003
