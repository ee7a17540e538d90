"""What happened to a billing account or an invoice, as the aggregate records it (no envelope:
``services.billing.events`` turns each into the event billing publishes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PaymentMethodActivated:
    company_id: str
    payment_method_id: str
    kind: str
    display: str
    previous_payment_method_id: str | None
    invoice_email: str | None
    language: str | None


@dataclass(frozen=True)
class PaymentMethodRemoved:
    company_id: str
    payment_method_id: str
    kind: str
    display: str
    active_payment_method_id: str | None
    invoice_email: str | None
    language: str | None


@dataclass(frozen=True)
class PaymentMethodUpdated:
    company_id: str
    payment_method_id: str
    kind: str
    display: str
    exp_month: int
    exp_year: int
    active: bool
    invoice_email: str | None
    language: str | None


@dataclass(frozen=True)
class CreditCheckRequested:
    request_id: str
    company_id: str
    payment_method_id: str
    account_holder: str
    iban: str
    bic: str
    mandate_reference: str


@dataclass(frozen=True)
class InvoiceRecorded:
    company_id: str
    invoice_id: str
    number: str
    amount_minor: int
    currency: str
    due_date: date
    payment_method_display: str
    invoice_email: str
    language: str | None


DomainEvent = (PaymentMethodActivated | PaymentMethodRemoved | PaymentMethodUpdated
               | CreditCheckRequested | InvoiceRecorded)
