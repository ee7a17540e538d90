"""payment methods (BIL-2, BIL-3) and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, RootModel, model_validator

from services.billing import handlers
from services.billing import payment_methods as methods
from services.billing.accounts import history_page
from services.billing.domain import account as acc
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
from shared.errors import InvalidInput

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
    items: list[HistoryEntry] = Field(description="Oldest first within the page")
    archived: int = Field(description="Entries older than the last 100, kept in the archive")
    next_cursor: str | None = Field(description="Pass as `cursor` for the page of older "
                                                "entries; null on the page with the first")


class HistoryQuery(BaseModel):
    limit: int = Field(100, ge=1, le=100)
    cursor: str | None = Field(None, max_length=40)


class CardUpdate(Body):
    """A card's new expiry and the provider's token for it: brand and last four digits stay."""

    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    holder_name: str | None = Field(None, max_length=100)


@routes.get("/v1/payment-methods", response=PaymentMethods, access=BILLING_ADMINS,
            tags=("payment methods",), problems=(404,))
async def list_payment_methods(request: web.Request, principal: Principal) -> PaymentMethods:
    """BIL-2, BIL-3: every method the company set up; exactly one is active."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return PaymentMethods(active_payment_method_id=account.get("active_method_id"),
                          items=[method_out(m, account) for m in acc.live_methods(account)])


@routes.post("/v1/payment-methods", body=NewPaymentMethod, response=PaymentMethod, status=201,
             access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409, 503),
             summary="BIL-2: add a payment method; it is active at once (SEPA after its "
                     "credit check). " + IDEMPOTENCY_NOTE)
async def add_payment_method(request: web.Request, body: NewPaymentMethod,
                             principal: Principal) -> web.Response:
    async def run():
        method, account = await methods.add_payment_method(
            request.app[STORE], request.app[CARD_PROVIDER], principal,
            body.root.model_dump(mode="json"))
        return 201, method_out(method, account)

    return await idempotent(request, principal, request.app[STORE].idempotency, run)


@routes.post("/v1/payment-methods/{method_id}/activation", response=PaymentMethod,
             access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409, 422))
async def activate_payment_method(request: web.Request, principal: Principal) -> PaymentMethod:
    """BIL-3: (re)activate an earlier method; it bills everything from now on."""
    method, account = await methods.activate_payment_method(
        request.app[STORE], principal, request.match_info["method_id"])
    return method_out(method, account)


@routes.get("/v1/payment-methods/history", query=HistoryQuery, response=History,
            access=BILLING_ADMINS, tags=("payment methods",), problems=(404,))
async def payment_history(request: web.Request, query: HistoryQuery,
                          principal: Principal) -> History:
    """BIL-3: every change of methods, details and subscriptions: the newest `limit` entries,
    oldest first; `next_cursor` walks back to older ones, however old (the archive)."""
    store = request.app[STORE]
    account = await handlers.billing_account(store, principal.company_id)
    before = None
    if query.cursor:
        raw = handlers.decode_cursor(query.cursor)
        if not raw.startswith("h") or not raw[1:].isdigit():
            raise InvalidInput([{"field": "query.cursor", "rule": "cursor",
                                 "message": "Pass the next_cursor of the previous page as is."}])
        before = int(raw[1:])
    items, older = await history_page(store, account, before=before, limit=query.limit)
    return History(items=[HistoryEntry(**e) for e in items],
                   archived=max(0, account.get("history_seq", 0)
                                - len(account.get("history", []))),
                   next_cursor=handlers.encode_cursor(f"h{older}") if older else None)


def _method_id(request: web.Request) -> str:
    method_id = request.match_info["method_id"]
    if not 1 <= len(method_id) <= 64:
        raise InvalidInput([{"field": "method_id", "rule": "length",
                             "message": "A payment method id has 1 to 64 characters."}])
    return method_id


@routes.patch("/v1/payment-methods/{method_id}", body=CardUpdate, response=PaymentMethod,
              access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409, 422, 503))
async def update_card(request: web.Request, body: CardUpdate,
                      principal: Principal) -> PaymentMethod:
    """BIL-3: update a credit card's expiry with the provider's new token for the same card;
    the method keeps its id and stays active if it was. Other kinds: 409, add them anew."""
    method, account = await methods.update_card(
        request.app[STORE], request.app[CARD_PROVIDER], principal, _method_id(request),
        body.model_dump(mode="json"))
    return method_out(method, account)


@routes.delete("/v1/payment-methods/{method_id}", response=PaymentMethods,
               access=BILLING_WRITERS, tags=("payment methods",), problems=(404, 409))
async def remove_payment_method(request: web.Request, principal: Principal) -> PaymentMethods:
    """BIL-3: remove a payment method. The active one only while another usable method exists:
    the one active before it (else the newest usable) becomes active in the same change;
    the only usable method, while active, is refused (409 payment-method-still-needed).
    Invoices billed with a removed method keep naming it."""
    account = await methods.remove_payment_method(request.app[STORE], principal,
                                                  _method_id(request))
    return PaymentMethods(active_payment_method_id=account.get("active_method_id"),
                          items=[method_out(m, account) for m in acc.live_methods(account)])
