from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings, dev_default


class BillingSettings(ServiceSettings):
    """Environment variables start with ``BILLING_`` (e.g. ``BILLING_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "billing"
    http_port: int = 8002
    # The card payment provider's API that confirms a card token; empty = the local sandbox,
    # which accepts tokens of the form ``tok_sandbox_…`` as given (development mode only).
    payment_provider_url: str = dev_default("")
    payment_provider_timeout_seconds: float = 5.0
