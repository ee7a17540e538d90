"""A company's payment methods (BIL-2, BIL-3): five kinds, each with its own details; a SEPA
mandate is usable only once the provider's credit check approved it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator

from services.billing.domain import cards
from services.billing.domain.sepa import mask_iban
from services.billing.domain.stored import Stored

Kind = Literal["landline_bill", "mobile_bill", "credit_card", "paypal", "sepa_debit"]
Status = Literal["usable", "pending_check", "rejected"]
USABLE: Status = "usable"
PENDING_CHECK: Status = "pending_check"
REJECTED: Status = "rejected"
BILLS: tuple[Kind, ...] = ("landline_bill", "mobile_bill")


class BillDetails(Stored):
    """A landline or mobile bill: the linked customer number billed."""

    customer_number: str


class CardDetails(Stored):
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str | None
    # Needed to charge the card; never shown, never logged; dropped when the card is removed.
    provider_token: str | None = None
    absent_when_none = ("provider_token",)


class PayPalDetails(Stored):
    billing_agreement_id: str
    payer_email: str


class SepaDetails(Stored):
    iban: str
    bic: str
    account_holder: str
    signed_on: str
    # Numbered when the method joins the account (unique per company).
    mandate_reference: str | None


Details = BillDetails | CardDetails | PayPalDetails | SepaDetails
_DETAILS: dict[str, type[Details]] = {
    "landline_bill": BillDetails, "mobile_bill": BillDetails, "credit_card": CardDetails,
    "paypal": PayPalDetails, "sepa_debit": SepaDetails}


class CreditCheck(Stored):
    """The credit-check provider's answer for a SEPA mandate."""

    outcome: Literal["approved", "rejected"]
    reason: str | None
    answered_at: datetime


class PaymentMethod(Stored):
    id: str
    kind: Kind
    status: Status
    created_at: datetime
    created_by: str
    rejection_reason: str | None
    details: Details
    # What a person may see of the method: "Visa •••• 4242", "IBAN DE89 •••• 3000".
    display: str
    credit_check_request_id: str | None = None
    credit_check: CreditCheck | None = None
    last_activated_at: datetime | None = None
    updated_at: datetime | None = None
    # A removed method stays in the account for the invoices billed with it.
    removed_at: datetime | None = None
    removed_by: str | None = None
    absent_when_none = ("credit_check_request_id", "credit_check", "last_activated_at",
                        "updated_at", "removed_at", "removed_by")

    @field_validator("details", mode="before")
    @classmethod
    def details_of_kind(cls, value: Any, info: ValidationInfo) -> Any:
        model = _DETAILS.get(info.data.get("kind", ""))
        if model is not None and isinstance(value, dict):
            return model.model_validate(value)
        return value

    @classmethod
    def _new(cls, method_id: str, kind: Kind, details: Details, display: str, *, by: str,
             now: datetime, status: Status = USABLE, **more: Any) -> PaymentMethod:
        return cls(id=method_id, kind=kind, status=status, created_at=now, created_by=by,
                   rejection_reason=None, details=details, display=display, **more)

    @classmethod
    def bill(cls, method_id: str, kind: Literal["landline_bill", "mobile_bill"],
             customer_number: str, *, by: str, now: datetime) -> PaymentMethod:
        label = "Landline bill" if kind == "landline_bill" else "Mobile bill"
        return cls._new(method_id, kind, BillDetails(customer_number=customer_number),
                        f"{label} {customer_number}", by=by, now=now)

    @classmethod
    def card(cls, method_id: str, card: CardDetails, *, by: str,
             now: datetime) -> PaymentMethod:
        return cls._new(method_id, "credit_card", card,
                        f"{cards.BRANDS[card.brand]} •••• {card.last4}", by=by, now=now)

    @classmethod
    def paypal(cls, method_id: str, billing_agreement_id: str, payer_email: str, *, by: str,
               now: datetime) -> PaymentMethod:
        return cls._new(method_id, "paypal", PayPalDetails(
            billing_agreement_id=billing_agreement_id, payer_email=payer_email),
            f"PayPal {payer_email}", by=by, now=now)

    @classmethod
    def sepa(cls, method_id: str, iban: str, bic: str, account_holder: str, *, by: str,
             now: datetime) -> PaymentMethod:
        """A SEPA mandate, pending its credit check."""
        return cls._new(method_id, "sepa_debit", SepaDetails(
            iban=iban, bic=bic, account_holder=account_holder,
            signed_on=now.date().isoformat(), mandate_reference=None),
            f"IBAN {mask_iban(iban)}", by=by, now=now, status=PENDING_CHECK,
            credit_check_request_id=f"cc_{method_id}")

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    @property
    def customer_number(self) -> str | None:
        """The customer number a landline or mobile bill bills to."""
        return self.details.customer_number if isinstance(self.details, BillDetails) else None

    def public_details(self) -> dict[str, Any]:
        """The details a person may see: no provider token, an IBAN masked."""
        d = self.details.model_dump()
        d.pop("provider_token", None)
        if "iban" in d:
            d["iban"] = mask_iban(d["iban"])
        return d
