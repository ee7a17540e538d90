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
    STORE,
    Body,
    _refuse_card_numbers,
    routes,
)
from services.billing.idempotency import idempotent
from shared.auth import Principal
from shared.errors import InvalidInput

CUSTOMER_NUMBER: dict[str, Any] = {"min_length": 4, "max_length": 20,
                                   "pattern": r"^[A-Za-z0-9-]+$", "examples": ["1234567890"]}


class LandlineBill(Body):
    """Pay with the landline bill of a landline customer number linked to the company."""

    kind: Literal["landline_bill"] = Field(description="The kind of method",
                                           examples=["landline_bill"])
    customer_number: str = Field(description="A landline customer number linked to the "
                                             "company (contracts' links)", **CUSTOMER_NUMBER)


class MobileBill(Body):
    """Pay with the mobile bill of a mobile customer number linked to the company."""

    kind: Literal["mobile_bill"] = Field(description="The kind of method",
                                         examples=["mobile_bill"])
    customer_number: str = Field(description="A mobile customer number linked to the "
                                             "company (contracts' links)", **CUSTOMER_NUMBER)


class CreditCard(Body):
    """A credit card: only the payment provider's token, the brand, the last four digits and
    the expiry; the card number itself is never sent."""

    kind: Literal["credit_card"] = Field(description="The kind of method",
                                         examples=["credit_card"])
    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The payment provider's token for the card, "
                                            "checked with the provider",
                                examples=["tok_1Pq2Rs3Tu4Vw5Xy6"])
    brand: str = Field(min_length=2, max_length=40,
                       description="visa, mastercard, diners_discover or jcb",
                       examples=["visa"])
    last4: str = Field(pattern=r"^[0-9]{4}$", description="The card number's last four digits",
                       examples=["4242"])
    exp_month: int = Field(ge=1, le=12, description="Expiry month", examples=[9])
    exp_year: int = Field(ge=2000, le=2100, description="Expiry year (an expired card is "
                                                        "refused)", examples=[2031])
    holder_name: str | None = Field(None, max_length=100, description="Name on the card",
                                    examples=["Erika Mustermann"])


class PayPal(Body):
    """PayPal through a billing agreement the company concluded with PayPal."""

    kind: Literal["paypal"] = Field(description="The kind of method", examples=["paypal"])
    billing_agreement_id: str = Field(pattern=r"^B-[A-Z0-9]{17}$",
                                      description="PayPal's billing agreement id",
                                      examples=["B-5YM71234AB567890C"])
    payer_email: EmailStr = Field(description="The PayPal account's email address",
                                  examples=["payments@muster.example"])


class SepaDebit(Body):
    """SEPA direct debit from a bank account; usable once the credit check approves it."""

    kind: Literal["sepa_debit"] = Field(description="The kind of method",
                                        examples=["sepa_debit"])
    iban: str = Field(min_length=2, max_length=42,
                      description="The account's IBAN (spaces allowed), checked with schwifty",
                      examples=["DE89 3704 0044 0532 0130 00"])
    bic: str = Field(min_length=2, max_length=14,
                     description="The bank's BIC, 8 or 11 characters, matching the IBAN's bank",
                     examples=["COBADEFFXXX"])
    account_holder: str = Field(min_length=2, max_length=70,
                                description="The account holder's name",
                                examples=["Muster GmbH"])
    mandate_accepted: Literal[True] = Field(
        description="The account holder authorises the SEPA direct debit mandate",
        examples=[True])


PaymentMethodChoice = Annotated[LandlineBill | MobileBill | CreditCard | PayPal | SepaDebit,
                                Field(discriminator="kind")]


class NewPaymentMethod(RootModel[PaymentMethodChoice]):
    """A new payment method, one of the kinds named by `kind`."""

    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class PaymentMethod(BaseModel):
    """A payment method of the company; provider tokens are never shown, an IBAN masked."""

    id: str = Field(description="The method's id", examples=["pm_3f9a1c2b7d4e5f60"])
    kind: str = Field(description="landline_bill, mobile_bill, credit_card, paypal or "
                                  "sepa_debit", examples=["credit_card"])
    status: Literal["usable", "pending_check", "rejected"] = Field(
        description="usable; pending_check while a SEPA credit check runs; rejected when it "
                    "failed", examples=["usable"])
    active: bool = Field(description="Whether this is the one method that bills everything",
                         examples=[True])
    display: str = Field(description="How to show the method to people",
                         examples=["Visa •••• 4242"])
    details: dict[str, Any] = Field(
        description="The kind's fields as given, without the provider token; an IBAN masked",
        examples=[{"brand": "visa", "last4": "4242", "exp_month": 9, "exp_year": 2031,
                   "holder_name": "Erika Mustermann"}])
    created_at: datetime = Field(description="When the method was added",
                                 examples=["2026-03-02T09:15:00Z"])
    last_activated_at: datetime | None = Field(None, description="When it last became active",
                                               examples=["2026-03-02T09:15:00Z"])
    rejection_reason: str | None = Field(None, description="rejected: why the credit check "
                                                           "refused it",
                                         examples=[None, "The credit check was negative."])


class PaymentMethods(BaseModel):
    """The company's payment methods and which one is active."""

    active_payment_method_id: str | None = Field(
        description="The active method's id; null while the company has none",
        examples=["pm_3f9a1c2b7d4e5f60"])
    items: list[PaymentMethod] = Field(description="Every method, removed ones left out")


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
    """One change of the billing account; entries carry further fields of their action
    (for example `kind`, `status`, `previous_payment_method_id`, `exp_month`, `user_id`)."""

    model_config = ConfigDict(extra="allow")

    seq: int = Field(description="The change's sequence number, 1 for the first",
                     examples=[7])
    at: datetime = Field(description="When it happened", examples=["2026-03-02T09:15:00Z"])
    action: str = Field(description="What happened: added, activated, approved, rejected, "
                                    "removed, card_updated, billing_details_changed, "
                                    "subscription_booked, online_invoices_granted, …",
                        examples=["activated"])
    by: str = Field(description="The user id who made the change, or `credit-check`",
                    examples=["5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10"])
    payment_method_id: str | None = Field(None, description="The method concerned, if any",
                                          examples=["pm_3f9a1c2b7d4e5f60"])
    display: str | None = Field(None, description="How that method is shown",
                                examples=["Visa •••• 4242"])


class History(BaseModel):
    """A page of the billing account's history of changes."""

    items: list[HistoryEntry] = Field(description="Oldest first within the page")
    archived: int = Field(description="Entries older than the last 100, kept in the archive",
                          examples=[0])
    next_cursor: str | None = Field(description="Pass as `cursor` for the page of older "
                                                "entries; null on the page with the first",
                                    examples=["aDQy"])


class HistoryQuery(BaseModel):
    """Which page of the history to read."""

    limit: int = Field(100, ge=1, le=100, description="Entries per page", examples=[50])
    cursor: str | None = Field(None, max_length=40,
                               description="The `next_cursor` of the previous page, as is",
                               examples=["aDQy"])


class CardUpdate(Body):
    """A card's new expiry and the provider's token for it: brand and last four digits stay."""

    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The payment provider's new token for the same "
                                            "card", examples=["tok_9Zy8Xw7Vu6Ts5Rq4"])
    exp_month: int = Field(ge=1, le=12, description="New expiry month", examples=[3])
    exp_year: int = Field(ge=2000, le=2100, description="New expiry year", examples=[2033])
    holder_name: str | None = Field(None, max_length=100,
                                    description="Name on the card; omitted: unchanged",
                                    examples=["Erika Mustermann"])


class MethodPath(BaseModel):
    """The payment method a path names."""

    method_id: str = Field(min_length=1, max_length=64,
                           description="The payment method's id, from the list or the answer "
                                       "that added it", examples=["pm_3f9a1c2b7d4e5f60"])


@routes.get("/v1/payment-methods", response=PaymentMethods, access=BILLING_ADMINS,
            tags=("payment methods",), problems=(404,))
async def list_payment_methods(request: web.Request, principal: Principal) -> PaymentMethods:
    """List the payment methods

    Every payment method the company has, with the id of the active one: exactly one
    method bills everything once the company has any. Company administrators and billing
    administrators (or a client with `billing:read`). Provider tokens are never shown; an
    IBAN is masked."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return PaymentMethods(active_payment_method_id=account.get("active_method_id"),
                          items=[method_out(m, account) for m in acc.live_methods(account)])


@routes.post("/v1/payment-methods", body=NewPaymentMethod, response=PaymentMethod, status=201,
             access=BILLING_WRITERS, tags=("payment methods",), idempotent=True,
             problems=(400, 404, 409, 422, 503))
async def add_payment_method(request: web.Request, body: NewPaymentMethod,
                             principal: Principal) -> web.Response:
    """Add a payment method

    Adds a landline or mobile bill (a customer number linked to the company), a credit card
    (the payment provider's token, brand, last four digits and expiry; the provider confirms
    the card), PayPal (a billing agreement) or SEPA direct debit (IBAN, BIC, mandate). The
    new method becomes the active one at once and bills every subscription from now on; SEPA
    only after its credit check approves it (`pending_check` until then). Company
    administrators and billing administrators. A body holding anything that looks like a
    card number is refused before it is read (422 `card-number-in-body`). 503
    `payment-provider-unavailable` when the card can not be confirmed right now.

    Send an `Idempotency-Key` header (1 to 255 visible ASCII characters, e.g. a UUID) to make
    retries safe: the same key with the same body answers the stored response again with
    `Idempotent-Replayed: true`; with another body 422 `idempotency-key-reused`; while the
    first request still runs 409 `idempotency-request-in-progress`."""
    async def run():
        method, account = await methods.add_payment_method(
            request.app[STORE], request.app[CARD_PROVIDER], principal,
            body.root.model_dump(mode="json"))
        return 201, method_out(method, account)

    return await idempotent(request, principal, request.app[STORE].idempotency, run)


@routes.post("/v1/payment-methods/{method_id}/activation", response=PaymentMethod,
             path_params=MethodPath, access=BILLING_WRITERS,
             tags=("payment methods",), problems=(404, 409, 422))
async def activate_payment_method(request: web.Request, principal: Principal) -> PaymentMethod:
    """Activate a payment method

    Makes an earlier method the active one again; it bills every subscription from now on
    and the one active before stays listed. Company administrators and billing
    administrators. 409 `payment-method-not-usable` while its credit check runs or after it
    was rejected; 422 `customer-number-not-linked` when a bill's customer number is no longer
    linked to the company."""
    method, account = await methods.activate_payment_method(
        request.app[STORE], principal, request.match_info["method_id"])
    return method_out(method, account)


@routes.get("/v1/payment-methods/history", query=HistoryQuery, response=History,
            access=BILLING_ADMINS, tags=("payment methods",), problems=(404,))
async def payment_history(request: web.Request, query: HistoryQuery,
                          principal: Principal) -> History:
    """Read the payment history

    Every change of payment methods, billing details, subscriptions and online-invoice
    readers: the newest `limit` entries, oldest first within the page; `next_cursor` walks
    back to older ones, however old (entries beyond the newest 100 come from the archive).
    Company administrators and billing administrators (or a client with `billing:read`)."""
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
              path_params=MethodPath, access=BILLING_WRITERS,
              tags=("payment methods",), problems=(404, 409, 422, 503))
async def update_card(request: web.Request, body: CardUpdate,
                      principal: Principal) -> PaymentMethod:
    """Update a credit card's expiry

    Sets a card's new expiry with the payment provider's new token for the same card (the
    provider confirms that brand and last four digits match); the method keeps its id and
    stays active if it was. Company administrators and billing administrators. Other kinds
    of method can not be changed (409 `payment-method-not-a-card`): add them anew and remove
    the old one. 503 `payment-provider-unavailable` when the card can not be confirmed right
    now."""
    method, account = await methods.update_card(
        request.app[STORE], request.app[CARD_PROVIDER], principal, _method_id(request),
        body.model_dump(mode="json"))
    return method_out(method, account)


@routes.delete("/v1/payment-methods/{method_id}", response=PaymentMethods,
               path_params=MethodPath, access=BILLING_WRITERS,
               tags=("payment methods",), problems=(404, 409, 422))
async def remove_payment_method(request: web.Request, principal: Principal) -> PaymentMethods:
    """Remove a payment method

    Removes a method and answers the methods left. The active one goes only while another
    usable method exists: the one active before it (else the newest usable) becomes active
    in the same change; the only usable method, while active, is refused (409
    `payment-method-still-needed`). Invoices billed with a removed method keep naming it.
    Company administrators and billing administrators."""
    account = await methods.remove_payment_method(request.app[STORE], principal,
                                                  _method_id(request))
    return PaymentMethods(active_payment_method_id=account.get("active_method_id"),
                          items=[method_out(m, account) for m in acc.live_methods(account)])
