"""payment methods (BIL-2, BIL-3) and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, RootModel, model_validator

from services.billing import handlers
from services.billing.domain.sepa import mask_iban
from services.billing.http import (
    BILLING_ADMINS,
    BILLING_WRITERS,
    CARD_PROVIDER,
    IDEMPOTENCY_NOTE,
    STORE,
    Body,
    _refuse_card_numbers,
    routes,
)
from services.billing.idempotency import idempotent
from shared.auth import Principal

class LandlineBill(Body):
    kind: Literal["landline_bill"]
    customer_number: str = Field(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9-]+$")


class MobileBill(Body):
    kind: Literal["mobile_bill"]
    customer_number: str = Field(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9-]+$")


class CreditCard(Body):
    """Only the payment provider's token, the brand, the last four digits and the expiry."""

    kind: Literal["credit_card"]
    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
    brand: str = Field(min_length=2, max_length=40,
                       description="visa, mastercard, diners_discover or jcb")
    last4: str = Field(pattern=r"^[0-9]{4}$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    holder_name: str | None = Field(None, max_length=100)


class PayPal(Body):
    kind: Literal["paypal"]
    billing_agreement_id: str = Field(pattern=r"^B-[A-Z0-9]{17}$")
    payer_email: EmailStr


class SepaDebit(Body):
    kind: Literal["sepa_debit"]
    iban: str = Field(min_length=2, max_length=42, description="Checked with schwifty")
    bic: str = Field(min_length=2, max_length=14, description="8 or 11 characters")
    account_holder: str = Field(min_length=2, max_length=70)
    mandate_accepted: Literal[True] = Field(
        description="The account holder authorises the SEPA direct debit mandate")


PaymentMethodChoice = Annotated[LandlineBill | MobileBill | CreditCard | PayPal | SepaDebit,
                                Field(discriminator="kind")]


class NewPaymentMethod(RootModel[PaymentMethodChoice]):
    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class PaymentMethod(BaseModel):
    id: str
    kind: str
    status: Literal["usable", "pending_check", "rejected"]
    active: bool
    display: str
    details: dict[str, Any]
    created_at: datetime
    last_activated_at: datetime | None = None
    rejection_reason: str | None = None


class PaymentMethods(BaseModel):
    active_payment_method_id: str | None
    items: list[PaymentMethod]


def _public_details(m: dict) -> dict:
    d = dict(m.get("details") or {})
    d.pop("provider_token", None)
    if "iban" in d:
        d["iban"] = mask_iban(d["iban"])
    return d


def method_out(m: dict, account: dict) -> PaymentMethod:
    return PaymentMethod(id=m["id"], kind=m["kind"], status=m["status"],
                         active=m["id"] == account.get("active_method_id"), display=m["display"],
                         details=_public_details(m), created_at=m["created_at"],
                         last_activated_at=m.get("last_activated_at"),
                         rejection_reason=m.get("rejection_reason"))


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    seq: int
    at: datetime
    action: str
    by: str
    payment_method_id: str | None = None
    display: str | None = None


class History(BaseModel):
    items: list[HistoryEntry]
    archived: int = Field(description="Older entries kept in the archive")


@routes.get("/v1/payment-methods", response=PaymentMethods, access=BILLING_ADMINS,
            tags=("payment methods",), problems=(404,))
async def list_payment_methods(request: web.Request, principal: Principal) -> PaymentMethods:
    """BIL-2, BIL-3: every method the company set up; exactly one is active."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return PaymentMethods(active_payment_method_id=account.get("active_method_id"),
                          items=[method_out(m, account)
                                 for m in account.get("payment_methods", [])])


@routes.post("/v1/payment-methods", body=NewPaymentMethod, response=PaymentMethod, status=201,
             access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409, 503),
             summary="BIL-2: add a payment method; it is active at once (SEPA after its "
                     "credit check). " + IDEMPOTENCY_NOTE)
async def add_payment_method(request: web.Request, body: NewPaymentMethod,
                             principal: Principal) -> web.Response:
    async def run():
        method, account = await handlers.add_payment_method(
            request.app[STORE], request.app[CARD_PROVIDER], principal,
            body.root.model_dump(mode="json"))
        return 201, method_out(method, account)

    return await idempotent(request, principal, request.app[STORE].idempotency, run)


@routes.post("/v1/payment-methods/{method_id}/activation", response=PaymentMethod,
             access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409, 422))
async def activate_payment_method(request: web.Request, principal: Principal) -> PaymentMethod:
    """BIL-3: (re)activate an earlier method; it bills everything from now on."""
    method, account = await handlers.activate_payment_method(
        request.app[STORE], principal, request.match_info["method_id"])
    return method_out(method, account)


@routes.get("/v1/payment-methods/history", response=History, access=BILLING_ADMINS,
            tags=("payment methods",), problems=(404,))
async def payment_history(request: web.Request, principal: Principal) -> History:
    """BIL-3: every change of methods, details and subscriptions, newest last."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    items = account.get("history", [])
    return History(items=[HistoryEntry(**e) for e in items],
                   archived=max(0, account.get("history_seq", 0) - len(items)))

