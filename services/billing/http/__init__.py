"""billing's HTTP API, one module per area (billing details, payment methods,
subscriptions, invoices); all routes go into one table."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, model_validator

from services.billing.domain.cards import contains_card_number
from services.billing.domain.errors import CardNumberInBody
from services.billing.payment_provider import CardProvider
from services.billing.store import BillingStore
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Access
from shared.http import Routes

routes = Routes()
STORE = web.AppKey("billing_store", BillingStore)
CARD_PROVIDER = web.AppKey("card_provider", CardProvider)
# BIL-4: billing data is for company and billing administrators only.
BILLING_ADMINS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN), scopes=("billing:read",))
BILLING_WRITERS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN))
# Online invoices (BIL-7): any user of the company reaches the handler, which admits
# administrators and the users granted online invoices.
COMPANY_USERS = Access()


def _refuse_card_numbers(data: Any) -> Any:
    # Runs before any field is validated, on the body as sent: nothing of it is echoed.
    if contains_card_number(data):
        raise CardNumberInBody()
    return data


class Body(BaseModel):
    """Every billing request body: unknown fields are refused, card numbers anywhere too."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)



from services.billing.http import (  # noqa: E402,F401  (each module adds its routes)
    details,
    invoices,
    payment_methods,
    subscriptions,
)
from services.billing.http.payment_methods import NewPaymentMethod  # noqa: E402,F401
from services.billing.http.subscriptions import Booking  # noqa: E402,F401
