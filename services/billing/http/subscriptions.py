"""subscriptions (BIL-5) and the product catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.billing import handlers, views
from services.billing.domain import subscriptions as domain
from services.billing.domain.account import BillingAccount
from services.billing.domain.catalogue import PRODUCTS
from services.billing.domain.commands import BookSubscription, CancelSubscription, ChangeLicences
from services.billing.http import (
    BILLING_ADMINS,
    BILLING_WRITERS,
    COMPANY_USERS,
    billing,
    routes,
)
from services.billing.http.models import Booking, LicenceChange, details_of, method_of
from services.billing.http.payment_methods import PaymentMethod, method_out
from shared.auth import Principal
from shared.http import company_of
from shared.idempotency import idempotent


class Product(BaseModel):
    """A product of the catalogue, priced per licence and month."""

    id: str = Field(description="The product's id, to book it", examples=["companyflex"])
    name: str = Field(description="The product's name", examples=["CompanyFlex"])
    unit_price_minor: int = Field(description="Price per licence and month in cents",
                                  examples=[1995])
    currency: str = Field(description="ISO 4217 currency code", examples=["EUR"])
    max_licences: int = Field(description="The most licences one subscription may have",
                              examples=[1000])


class Products(BaseModel):
    """The product catalogue."""

    items: list[Product] = Field(description="Every product that can be booked")


class Subscription(BaseModel):
    """A booked product with its licences and monthly amount."""

    id: str = Field(description="The subscription's id", examples=["sub_8c2d4e6f1a3b5c7d"])
    product_id: str = Field(description="The booked product", examples=["m365-business-standard"])
    product_name: str = Field(description="The product's name",
                              examples=["Microsoft 365 Business Standard"])
    licences: int = Field(description="Number of licences", examples=[25])
    unit_price_minor: int = Field(description="Price per licence and month in cents, as booked",
                                  examples=[1170])
    currency: str = Field(description="ISO 4217 currency code", examples=["EUR"])
    monthly_amount_minor: int = Field(description="licences × unit price, in cents",
                                      examples=[29250])
    status: Literal["active", "awaiting_payment_method", "cancelled"] = Field(
        description="active; awaiting_payment_method until a method is usable (a SEPA "
                    "mandate in its credit check); cancelled", examples=["active"])
    billed_with: str | None = Field(description="The active payment method's id; null when "
                                                "cancelled or while there is none",
                                    examples=["pm_3f9a1c2b7d4e5f60"])
    booked_at: datetime = Field(description="When it was booked",
                                examples=["2026-03-02T09:20:00Z"])
    cancelled_at: datetime | None = Field(None, description="When it was cancelled; null "
                                                            "while it runs",
                                          examples=[None, "2026-09-30T16:00:00Z"])


class Subscriptions(BaseModel):
    """The company's subscriptions."""

    items: list[Subscription] = Field(description="Every subscription, cancelled ones too")


def subscription_out(s: domain.Subscription, account: BillingAccount) -> Subscription:
    return Subscription(id=s.id, product_id=s.product_id, product_name=s.product_name,
                        licences=s.licences, unit_price_minor=s.unit_price_minor,
                        currency=s.currency, status=s.status, booked_at=s.booked_at,
                        cancelled_at=s.cancelled_at, monthly_amount_minor=s.monthly_amount_minor,
                        billed_with=None if s.status == "cancelled"
                        else account.active_method_id)


class BookingDone(BaseModel):
    """The booked subscription and the payment method that bills it."""

    subscription: Subscription = Field(description="The new subscription")
    payment_method: PaymentMethod | None = Field(description="The active payment method; "
                                                             "null while there is none")


class SubscriptionPath(BaseModel):
    """The subscription a path names."""

    subscription_id: str = Field(min_length=1, description="The subscription's id, from the "
                                                           "list or the booking's answer",
                                 examples=["sub_8c2d4e6f1a3b5c7d"])


@routes.get("/v1/products", response=Products, access=COMPANY_USERS, tags=("subscriptions",))
async def list_products(request: web.Request, principal: Principal) -> Products:
    """List the products that can be booked

    The product catalogue with prices in cents per licence and month. Any signed-in user of
    a company."""
    return Products(items=[Product(id=p.id, name=p.name, unit_price_minor=p.unit_price_minor,
                                   currency=p.currency, max_licences=p.max_licences)
                           for p in PRODUCTS.values()])


@routes.get("/v1/subscriptions", response=Subscriptions, access=BILLING_ADMINS,
            tags=("subscriptions",), problems=(404,))
async def list_subscriptions(request: web.Request, principal: Principal) -> Subscriptions:
    """List the subscriptions

    The company's subscriptions, cancelled ones included; every active one is billed with
    the active payment method. Company administrators and billing administrators (or a
    client with `billing:read`)."""
    account = await views.billing_account(billing(request), company_of(principal))
    return Subscriptions(items=[subscription_out(s, account) for s in account.subscriptions])


@routes.post("/v1/subscriptions", body=Booking, response=BookingDone, status=201,
             access=BILLING_WRITERS, tags=("subscriptions",), idempotent=True,
             problems=(400, 404, 409, 422, 503))
async def book_subscription(request: web.Request, body: Booking,
                            principal: Principal) -> web.Response:
    """Book a product

    Books a product with a number of licences. A company without a payment method brings
    one in `payment_method` (422 `payment-method-required` otherwise) and may set its
    billing details in the same request; everything is saved in one change. With a SEPA
    mandate the subscription waits as `awaiting_payment_method` until the credit check
    approves it. Company administrators and billing administrators. 422 `unknown-product`
    for an id not in the catalogue; 503 `payment-provider-unavailable` when a card can not
    be confirmed right now.

    Send an `Idempotency-Key` header (1 to 255 visible ASCII characters, e.g. a UUID) to make
    retries safe: the same key with the same body answers the stored response again with
    `Idempotent-Replayed: true`; with another body 422 `idempotency-key-reused`; while the
    first request still runs 409 `idempotency-request-in-progress`."""
    uow = billing(request)

    async def run() -> tuple[int, BookingDone]:
        sub, account = await handlers.book_subscription(
            BookSubscription(
                company_of(principal), principal.subject, body.product_id, body.licences,
                method_of(body.payment_method) if body.payment_method else None,
                details_of(body.billing_details) if body.billing_details else None), uow)
        method = account.active_method
        return 201, BookingDone(subscription=subscription_out(sub, account),
                                payment_method=method_out(method, account) if method else None)

    return await idempotent(request, principal, uow.store.idempotency, run)


@routes.patch("/v1/subscriptions/{subscription_id}", body=LicenceChange, response=Subscription,
              path_params=SubscriptionPath, access=BILLING_WRITERS,
              tags=("subscriptions",), problems=(404, 409))
async def change_subscription(request: web.Request, body: LicenceChange,
                              principal: Principal) -> Subscription:
    """Change the number of licences

    Sets a subscription's number of licences (1 to the product's `max_licences`); the monthly
    amount follows. Company administrators and billing administrators. 409
    `subscription-cancelled` for a cancelled subscription."""
    sub, account = await handlers.change_licences(ChangeLicences(
        company_of(principal), principal.subject, request.match_info["subscription_id"],
        body.licences), billing(request))
    return subscription_out(sub, account)


@routes.delete("/v1/subscriptions/{subscription_id}", response=Subscription,
               path_params=SubscriptionPath, access=BILLING_WRITERS,
               tags=("subscriptions",), problems=(404, 409))
async def cancel_subscription(request: web.Request, principal: Principal) -> Subscription:
    """Cancel a subscription

    Cancels a subscription; it stays listed as `cancelled` with the time it ended.
    Cancelling a cancelled subscription changes nothing. Company administrators and billing
    administrators."""
    sub, account = await handlers.cancel_subscription(CancelSubscription(
        company_of(principal), principal.subject, request.match_info["subscription_id"]),
        billing(request))
    return subscription_out(sub, account)

