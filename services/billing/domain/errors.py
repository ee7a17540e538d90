"""billing's problems: each with its own type, naming the field and the rule it broke."""

from __future__ import annotations

from shared.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermanentEventError,
    Unavailable,
    Unprocessable,
)


def field_problem(cls: type[InvalidInput], field: str, rule: str, message: str) -> InvalidInput:
    """An ``InvalidInput`` subclass naming one field and rule (never the rejected value)."""
    return cls([{"field": field, "rule": rule, "message": message}], detail=message)


class CardNumberInBody(Unprocessable):
    # Raised before any other validation, so nothing of the body is echoed, stored or logged.
    slug, title = "card-number-in-body", "A card number must never be sent"

    def __init__(self) -> None:
        super().__init__(
            "The request contains something that looks like a full card number. Never send "
            "card numbers: tokenise the card with the payment provider and send its token, "
            "the brand, the last 4 digits and the expiry.")


class UnsupportedCardBrand(InvalidInput):
    slug, title = "unsupported-card-brand", "This card brand is not accepted"


class CardExpired(InvalidInput):
    slug, title = "card-expired", "The card has expired"


class CardTokenRejected(InvalidInput):
    slug, title = "card-token-rejected", "The payment provider does not confirm this card"


class PaymentProviderUnavailable(Unavailable):
    slug = "payment-provider-unavailable"
    title = "The payment provider is not reachable"


class InvalidIban(InvalidInput):
    slug, title = "invalid-iban", "The IBAN is not valid for SEPA direct debit"


class InvalidBic(InvalidInput):
    slug, title = "invalid-bic", "The BIC is not valid"


class InvalidVatId(InvalidInput):
    slug, title = "invalid-vat-id", "The VAT id is not valid"


class CustomerNumberNotLinked(InvalidInput):
    slug, title = "customer-number-not-linked", "The customer number is not linked to this company"


class PaymentMethodRequired(InvalidInput):
    slug, title = "payment-method-required", "A payment method is needed for this booking"


class UnknownProduct(InvalidInput):
    slug, title = "unknown-product", "No such product in the catalogue"


class BillingAccountNotFound(NotFound):
    slug, title = "billing-account-not-found", "No billing account yet"


class PaymentMethodNotFound(NotFound):
    slug, title = "payment-method-not-found", "No such payment method"


class SubscriptionNotFound(NotFound):
    slug, title = "subscription-not-found", "No such subscription"


class BillingDetailsNotFound(NotFound):
    slug, title = "billing-details-not-found", "No billing details yet"


class PaymentMethodNotUsable(Conflict):
    slug, title = "payment-method-not-usable", "This payment method can not be activated"


class PaymentMethodStillNeeded(Conflict):
    slug, title = "payment-method-still-needed", \
        "The only usable payment method can not be removed while it is active"


class PaymentMethodNotACard(Conflict):
    slug, title = "payment-method-not-a-card", "Only a credit card's expiry can be updated"


class SubscriptionCancelled(Conflict):
    slug, title = "subscription-cancelled", "The subscription is cancelled"


class UnknownCompany(Exception):
    """An event for a company billing has no account for (yet): retried, then parked."""


class InvoiceLinesDoNotAddUp(PermanentEventError):
    """An issued invoice whose lines do not add up: it never will, so it is parked at once."""
