"""subscriptions (BIL-5) and the product catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.billing import handlers
from services.billing.domain import account as acc
from services.billing.domain.catalogue import PRODUCTS
from services.billing.http import (
    BILLING_ADMINS,
    BILLING_WRITERS,
    CARD_PROVIDER,
    COMPANY_USERS,
    IDEMPOTENCY_NOTE,
    STORE,
    Body,
    routes,
)
from services.billing.http.details import BillingDetailsIn
from services.billing.http.payment_methods import PaymentMethod, PaymentMethodChoice, method_out
from services.billing.idempotency import idempotent
from shared.auth import Principal

class Product(BaseModel):
    id: str
    name: str
    unit_price_minor: int
    currency: str
    max_licences: int


class Products(BaseModel):
    items: list[Product]


class Booking(Body):
    product_id: str = Field(min_length=1, max_length=64)
    licences: int = Field(ge=1, le=10_000)
    payment_method: PaymentMethodChoice | None = Field(
        None, description="Needed when the company has no payment method yet")
    billing_details: BillingDetailsIn | None = None


class LicenceChange(Body):
    licences: int = Field(ge=1, le=10_000)


class Subscription(BaseModel):
    id: str
    product_id: str
    product_name: str
    licences: int
    unit_price_minor: int
    currency: str
    monthly_amount_minor: int
    status: Literal["active", "awaiting_payment_method", "cancelled"]
    billed_with: str | None = Field(description="The active payment method (BIL-3)")
    booked_at: datetime
    cancelled_at: datetime | None = None


class Subscriptions(BaseModel):
    items: list[Subscription]


def subscription_out(s: dict, account: dict) -> Subscription:
    return Subscription(**{k: s[k] for k in ("id", "product_id", "product_name", "licences",
                                             "unit_price_minor", "currency", "status",
                                             "booked_at", "cancelled_at")},
                        monthly_amount_minor=s["licences"] * s["unit_price_minor"],
                        billed_with=None if s["status"] == "cancelled"
                        else account.get("active_method_id"))


class BookingDone(BaseModel):
    subscription: Subscription
    payment_method: PaymentMethod | None


@routes.get("/v1/products", response=Products, access=COMPANY_USERS, tags=("subscriptions",))
async def list_products(request: web.Request, principal: Principal) -> Products:
    """BIL-5: the product catalogue (prices in cents per licence and month)."""
    return Products(items=[Product(id=p.id, name=p.name, unit_price_minor=p.unit_price_minor,
                                   currency=p.currency, max_licences=p.max_licences)
                           for p in PRODUCTS.values()])


@routes.get("/v1/subscriptions", response=Subscriptions, access=BILLING_ADMINS,
            tags=("subscriptions",), problems=(404,))
async def list_subscriptions(request: web.Request, principal: Principal) -> Subscriptions:
    """BIL-5: the company's subscriptions, each billed with the active method."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return Subscriptions(items=[subscription_out(s, account)
                                for s in account.get("subscriptions", [])])


@routes.post("/v1/subscriptions", body=Booking, response=BookingDone, status=201,
             access=BILLING_WRITERS, tags=("subscriptions",), problems=(404, 503),
             summary="BIL-5: book a product with N licences; without a payment method the "
                     "booking brings one. " + IDEMPOTENCY_NOTE)
async def book_subscription(request: web.Request, body: Booking,
                            principal: Principal) -> web.Response:
    async def run():
        sub, account = await handlers.book_subscription(
            request.app[STORE], request.app[CARD_PROVIDER], principal,
            product_id=body.product_id, licences=body.licences,
            payment_method=body.payment_method.model_dump(mode="json")
            if body.payment_method else None,
            billing_details=body.billing_details.model_dump(mode="json")
            if body.billing_details else None)
        active = account.get("active_method_id")
        method = acc.find_method(account, active) if active else None
        return 201, BookingDone(subscription=subscription_out(sub, account),
                                payment_method=method_out(method, account) if method else None)

    return await idempotent(request, principal, request.app[STORE].idempotency, run)


@routes.patch("/v1/subscriptions/{subscription_id}", body=LicenceChange, response=Subscription,
              access=BILLING_WRITERS, tags=("subscriptions",), problems=(404, 409))
async def change_subscription(request: web.Request, body: LicenceChange,
                              principal: Principal) -> Subscription:
    """BIL-5: change the number of licences."""
    sub, account = await handlers.change_subscription(
        request.app[STORE], principal, request.match_info["subscription_id"], body.licences)
    return subscription_out(sub, account)


@routes.delete("/v1/subscriptions/{subscription_id}", response=Subscription,
               access=BILLING_WRITERS, tags=("subscriptions",), problems=(404,))
async def cancel_subscription(request: web.Request, principal: Principal) -> Subscription:
    """BIL-5: cancel a subscription (it stays listed as cancelled)."""
    sub, account = await handlers.cancel_subscription(
        request.app[STORE], principal, request.match_info["subscription_id"])
    return subscription_out(sub, account)

