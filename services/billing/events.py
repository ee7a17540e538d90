"""Events billing publishes, and the schemas of the outside systems' events billing owns the
contract for (``EXTERNAL``: the invoicing engine and the credit-check provider)."""

from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from services.billing.domain import events as de
from shared.events import EventData, EventSpec, make_event

SOURCE = "/services/billing"
PaymentKind = Literal["landline_bill", "mobile_bill", "credit_card", "paypal", "sepa_debit"]


class PaymentMethodActivated(EventData):
    company_id: str
    payment_method_id: str
    kind: PaymentKind
    # What a person may see of the method: "Visa •••• 4242", "IBAN DE89 •••• 3000".
    display: str
    previous_payment_method_id: str | None = None
    invoice_email: EmailStr | None = None
    # The company's language when billing knows it; else notifications decides.
    language: str | None = None


class PaymentMethodRemoved(EventData):
    """A method was removed (BIL-3); when it was the active one, another became active in the
    same change (its own ``billing.payment_method.activated.v1`` follows)."""

    company_id: str
    payment_method_id: str
    kind: PaymentKind
    display: str
    # The method active after the removal.
    active_payment_method_id: str | None = None
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodUpdated(EventData):
    """A card's expiry was updated with a new provider token (BIL-3)."""

    company_id: str
    payment_method_id: str
    kind: PaymentKind
    display: str
    exp_month: int
    exp_year: int
    # Whether the updated method is the active one.
    active: bool
    invoice_email: EmailStr | None = None
    language: str | None = None


class CreditCheckRequested(EventData):
    """For the credit-check provider: check a SEPA direct debit mandate."""

    request_id: str
    company_id: str
    payment_method_id: str
    account_holder: str
    iban: str
    bic: str
    mandate_reference: str


class InvoiceRecorded(EventData):
    """An invoice was stored against the active method: notify the invoice email (BIL-6)."""

    company_id: str
    invoice_id: str
    number: str
    amount_minor: int
    currency: str
    due_date: date
    payment_method_display: str
    invoice_email: EmailStr
    # The company's language when billing knows it; else notifications decides.
    language: str | None = None


class InvoiceLine(EventData):
    description: str
    quantity: int = Field(ge=1)
    unit_price_minor: int
    amount_minor: int


class InvoiceIssued(EventData):
    """From the invoicing engine. Money is integer minor units (cents) with a currency."""

    invoice_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    number: str = Field(min_length=1)
    issued_at: datetime
    due_date: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount_minor: int = Field(ge=0)
    lines: list[InvoiceLine] = Field(default=[])  # pydantic copies it per instance
    customer_number: str | None = None


class CreditCheckResult(EventData):
    """From the credit-check provider, answering ``billing.credit_check.requested.v1``."""

    request_id: str
    company_id: str
    payment_method_id: str
    outcome: Literal["approved", "rejected"]
    reason: str | None = None


_CO = {"company_id": "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"}

PAYMENT_METHOD_ACTIVATED = EventSpec(
    "billing.payment_method.activated.v1", PaymentMethodActivated, "billing",
    "A payment method became the company's one active method (BIL-3): notify the company.",
    example={**_CO, "payment_method_id": "pm-2", "kind": "credit_card",
             "display": "Visa •••• 4242", "previous_payment_method_id": "pm-1",
             "invoice_email": "invoices@example.com", "language": "de"})
PAYMENT_METHOD_REMOVED = EventSpec(
    "billing.payment_method.removed.v1", PaymentMethodRemoved, "billing",
    "A payment method was removed (BIL-3): notify the company.",
    example={**_CO, "payment_method_id": "pm-1", "kind": "paypal",
             "display": "PayPal pay@example.com", "active_payment_method_id": "pm-2",
             "invoice_email": "invoices@example.com", "language": "de"})
PAYMENT_METHOD_UPDATED = EventSpec(
    "billing.payment_method.updated.v1", PaymentMethodUpdated, "billing",
    "A card's expiry was updated with a new provider token (BIL-3): notify the company.",
    example={**_CO, "payment_method_id": "pm-2", "kind": "credit_card",
             "display": "Visa •••• 4242", "exp_month": 9, "exp_year": 2031, "active": True,
             "invoice_email": "invoices@example.com", "language": "de"})
CREDIT_CHECK_REQUESTED = EventSpec(
    "billing.credit_check.requested.v1", CreditCheckRequested, "billing",
    "A SEPA direct debit mandate needs the provider's credit check (BIL-2).",
    example={"request_id": "cc-1", **_CO, "payment_method_id": "pm-3",
             "account_holder": "Muster GmbH", "iban": "DE89370400440532013000",
             "bic": "COBADEFFXXX", "mandate_reference": "BAP-0F3A6C2E-0001"})
INVOICE_RECORDED = EventSpec(
    "billing.invoice.recorded.v1", InvoiceRecorded, "billing",
    "An invoice was stored for the company: send the invoice notice (BIL-6).",
    example={**_CO, "invoice_id": "inv-1", "number": "R-2026-000123", "amount_minor": 4990,
             "currency": "EUR", "due_date": "2026-12-15",
             "payment_method_display": "Visa •••• 4242",
             "invoice_email": "invoices@example.com", "language": "de"})
INVOICE_ISSUED = EventSpec(
    "invoicing.invoice.issued.v1", InvoiceIssued, "invoicing engine",
    "The invoicing engine issued an invoice to a company (BIL-6).", source="/invoicing",
    example={"invoice_id": "inv-1", **_CO, "number": "R-2026-000123",
             "issued_at": "2026-11-30T08:00:00Z", "due_date": "2026-12-15", "currency": "EUR",
             "amount_minor": 4990, "lines": [{"description": "Microsoft 365 Business Basic",
                                              "quantity": 5, "unit_price_minor": 998,
                                              "amount_minor": 4990}]})
CREDIT_CHECK_RESULT = EventSpec(
    "creditcheck.result.v1", CreditCheckResult, "credit-check provider",
    "The provider's answer to a SEPA credit check: the method becomes usable or rejected.",
    source="/credit-check",
    example={"request_id": "cc-1", **_CO, "payment_method_id": "pm-3",
             "outcome": "approved", "reason": None})

PUBLISHED = [PAYMENT_METHOD_ACTIVATED, PAYMENT_METHOD_REMOVED, PAYMENT_METHOD_UPDATED,
             CREDIT_CHECK_REQUESTED, INVOICE_RECORDED]
EXTERNAL = [INVOICE_ISSUED, CREDIT_CHECK_RESULT]

# Which event each domain event is published as.
_SPECS: dict[type[de.DomainEvent], EventSpec] = {
    de.PaymentMethodActivated: PAYMENT_METHOD_ACTIVATED,
    de.PaymentMethodRemoved: PAYMENT_METHOD_REMOVED,
    de.PaymentMethodUpdated: PAYMENT_METHOD_UPDATED,
    de.CreditCheckRequested: CREDIT_CHECK_REQUESTED,
    de.InvoiceRecorded: INVOICE_RECORDED,
}


def envelope(event: de.DomainEvent) -> dict[str, Any]:
    """The event billing publishes for ``event``, about the company it concerns."""
    return make_event(_SPECS[type(event)], asdict(event), source=SOURCE,
                      subject=event.company_id, company_id=event.company_id)


def envelopes(events: list[de.DomainEvent]) -> list[dict[str, Any]]:
    return [envelope(e) for e in events]
