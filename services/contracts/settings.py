from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings, dev_default


class ContractsSettings(ServiceSettings):
    """Environment variables start with ``CONTRACTS_`` (e.g. ``CONTRACTS_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "contracts"
    http_port: int = 8003
    # Key of the HMAC that one-time passwords are stored under; set a long random value in
    # production (changing it makes every issued password unusable).
    otp_pepper: SecretStr = dev_default(SecretStr("local-development-pepper-change-me"))
    otp_valid_days: float = 10.0
    # Wrong one-time passwords one company may enter for one customer number; then that company
    # alone is locked out of that number until support issues a new password.
    otp_max_attempts: int = 5
    # Wrong one-time passwords for one customer number from all companies together after which
    # support is alerted (metric customer_number_guessing_alerts_total and a warning log line;
    # again at every further multiple). Nobody is locked by it: the holder must still link.
    otp_alert_after_attempts: int = 20
    # Wrong link attempts (customer number + one-time password) one company may make per hour
    # across all numbers, known or not; a right password is not counted.
    link_attempts_per_company_per_hour: int = 30
