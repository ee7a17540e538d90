"""payment methods (BIL-2, BIL-3) and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.billing import handlers, views
from services.billing.domain import payment_methods as domain
from services.billing.domain.account import BillingAccount
from services.billing.domain.commands import (
    ActivatePaymentMethod,
    AddPaymentMethod,
    RemovePaymentMethod,
    UpdateCard,
)
from services.billing.http import BILLING_ADMINS, BILLING_WRITERS, billing, routes
from services.billing.http.models import CardUpdate, NewPaymentMethod, method_of
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.http import company_of
from shared.idempotency import idempotent
from shared.pagination import encode_cursor

# The cursor of the page before entry 42.
HISTORY_CURSOR_EXAMPLE = encode_cursor(42)


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


def method_out(m: domain.PaymentMethod, account: BillingAccount) -> PaymentMethod:
    return PaymentMethod(id=m.id, kind=m.kind, status=m.status,
                         active=m.id == account.active_method_id, display=m.display,
                         details=m.public_details(), created_at=m.created_at,
                         last_activated_at=m.last_activated_at,
                         rejection_reason=m.rejection_reason)


def methods_out(account: BillingAccount) -> PaymentMethods:
    return PaymentMethods(active_payment_method_id=account.active_method_id,
                          items=[method_out(m, account) for m in account.live_methods()])


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
                                    examples=[HISTORY_CURSOR_EXAMPLE])


class HistoryQuery(BaseModel):
    """Which page of the history to read."""

    limit: int = Field(100, ge=1, le=100, description="Entries per page", examples=[50])
    cursor: str | None = Field(None, max_length=40,
                               description="The `next_cursor` of the previous page, as is",
                               examples=[HISTORY_CURSOR_EXAMPLE])


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
    return methods_out(await views.billing_account(billing(request), company_of(principal)))


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
    uow = billing(request)

    async def run() -> tuple[int, PaymentMethod]:
        method, account = await handlers.add_payment_method(
            AddPaymentMethod(company_of(principal), principal.subject, method_of(body.root)), uow)
        return 201, method_out(method, account)

    return await idempotent(request, principal, uow.store.idempotency, run)


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
    method, account = await handlers.activate_payment_method(ActivatePaymentMethod(
        company_of(principal), principal.subject, request.match_info["method_id"]),
        billing(request))
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
    page = await views.history(billing(request), company_of(principal), limit=query.limit,
                               cursor=query.cursor)
    return History(items=[HistoryEntry.model_validate(e.model_dump()) for e in page.items],
                   archived=page.archived, next_cursor=page.next_cursor)


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
    method, account = await handlers.update_card(UpdateCard(
        company_of(principal), principal.subject, _method_id(request), body.provider_token,
        body.exp_month, body.exp_year, body.holder_name), billing(request))
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
    return methods_out(await handlers.remove_payment_method(RemovePaymentMethod(
        company_of(principal), principal.subject, _method_id(request)), billing(request)))
