"""What billing is asked to do: the commands its use cases take (``handlers``), built by the
HTTP routes (from the request bodies, ``http.models``) and by the consumers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from services.billing.domain.details import BillingDetails
from services.billing.domain.invoices import InvoiceLine

# -- the payment method a use case adds ----------------------------------------------------------


@dataclass(frozen=True)
class BillMethod:
    """Pay with the landline or mobile bill of a customer number linked to the company."""

    kind: Literal["landline_bill", "mobile_bill"]
    customer_number: str


@dataclass(frozen=True)
class CardMethod:
    provider_token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str | None
    kind: Literal["credit_card"] = "credit_card"


@dataclass(frozen=True)
class PayPalMethod:
    billing_agreement_id: str
    payer_email: str
    kind: Literal["paypal"] = "paypal"


@dataclass(frozen=True)
class SepaMethod:
    iban: str
    bic: str
    account_holder: str
    kind: Literal["sepa_debit"] = "sepa_debit"


NewMethod = BillMethod | CardMethod | PayPalMethod | SepaMethod

# -- the commands (what a use case is asked to do, by whom) --------------------------------------

@dataclass(frozen=True)
class OpenBillingAccount:
    company_id: str
    company_name: str
    event_id: str
    admin_email: str | None
    language: str


@dataclass(frozen=True)
class SetBillingDetails:
    company_id: str
    by: str
    details: BillingDetails


@dataclass(frozen=True)
class SetInvoiceReader:
    company_id: str
    by: str
    user_id: str
    granted: bool


@dataclass(frozen=True)
class AddPaymentMethod:
    company_id: str
    by: str
    method: NewMethod


@dataclass(frozen=True)
class ActivatePaymentMethod:
    company_id: str
    by: str
    method_id: str


@dataclass(frozen=True)
class RemovePaymentMethod:
    company_id: str
    by: str
    method_id: str


@dataclass(frozen=True)
class UpdateCard:
    """A card's new expiry with the provider's new token for it."""

    company_id: str
    by: str
    method_id: str
    provider_token: str
    exp_month: int
    exp_year: int
    holder_name: str | None


@dataclass(frozen=True)
class AnswerCreditCheck:
    event_id: str
    company_id: str
    request_id: str
    method_id: str
    approved: bool
    reason: str | None


@dataclass(frozen=True)
class BookSubscription:
    """A product booked; the payment method and billing details may come with it."""

    company_id: str
    by: str
    product_id: str
    licences: int
    method: NewMethod | None = None
    details: BillingDetails | None = None


@dataclass(frozen=True)
class ChangeLicences:
    company_id: str
    by: str
    subscription_id: str
    licences: int


@dataclass(frozen=True)
class CancelSubscription:
    company_id: str
    by: str
    subscription_id: str


@dataclass(frozen=True)
class RecordInvoice:
    """An invoice the invoicing engine issued (money in minor units)."""

    event_id: str
    company_id: str
    invoice_id: str
    number: str
    issued_at: datetime
    due_date: date
    currency: str
    amount_minor: int
    lines: tuple[InvoiceLine, ...]
    customer_number: str | None


@dataclass(frozen=True)
class ProjectLink:
    """A link or unlink of a customer number as contracts announced it (``as_of``: its time)."""

    company_id: str
    customer_number: str
    kind: str
    linked: bool
    as_of: float
    link_type: str | None = None
    access_numbers: tuple[str, ...] = ()
