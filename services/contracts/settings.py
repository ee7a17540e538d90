from __future__ import annotations

from pydantic import SecretStr, model_validator
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
    # How long a one-time password is valid (ID-2, seed 001: 10 days): days, or hours when
    # otp_valid_hours is set (it wins). Its email and its expiry problem state the validity.
    otp_valid_days: float = 10.0
    otp_valid_hours: float | None = None
    # Wrong one-time passwords one company may enter for one customer number; then that company
    # alone is locked out of that number until support issues a new password.
    otp_max_attempts: int = 5
    # Wrong one-time passwords for one customer number from all companies together after which
    # support is alerted (metric bap_customer_number_guessing_alerts_total, a warning log line;
    # again at every further multiple). Nobody is locked by it: the holder must still link.
    otp_alert_after_attempts: int = 20
    # Wrong link attempts (customer number + one-time password) one company may make per hour
    # across all numbers, known or not; a right password is not counted.
    link_attempts_per_company_per_hour: int = 30

    @model_validator(mode="after")
    def _hours_win(self) -> ContractsSettings:
        if self.otp_valid_hours is not None:
            self.otp_valid_days = self.otp_valid_hours / 24
        return self
