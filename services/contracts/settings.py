from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class ContractsSettings(ServiceSettings):
    """Environment variables start with ``CONTRACTS_`` (e.g. ``CONTRACTS_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "contracts"
    http_port: int = 8003
    # Key of the HMAC that one-time passwords are stored under; set a long random value in
    # production (changing it makes every issued password unusable).
    otp_pepper: SecretStr = SecretStr("local-development-pepper-change-me")
    otp_valid_days: float = 10.0
    # Wrong one-time passwords accepted before the password is locked (support issues a new one).
    otp_max_attempts: int = 5
