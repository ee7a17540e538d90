"""billing's HTTP API: billing details, payment methods, subscriptions, invoices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import phonenumbers
from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from services.billing import handlers
from services.billing.domain import account as acc
from services.billing.domain.catalogue import PRODUCTS
from services.billing.domain.cards import contains_card_number
from services.billing.domain.errors import CardNumberInBody
from services.billing.domain.sepa import mask_iban
from services.billing.idempotency import idempotent
from services.billing.payment_provider import CardProvider
from services.billing.store import BillingStore
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Access, Principal
from shared.errors import InvalidInput
from shared.http import Routes

routes = Routes()
STORE = web.AppKey("billing_store", BillingStore)
CARD_PROVIDER = web.AppKey("card_provider", CardProvider)
# BIL-4: billing data is for company and billing administrators only.
BILLING_ADMINS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN), scopes=("billing:read",))
BILLING_WRITERS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN))
# Online invoices (BIL-7): any user of the company reaches the handler, which admits
# administrators and the users granted online invoices.
COMPANY_USERS = Access()
IDEMPOTENCY_NOTE = ("Send an `Idempotency-Key` header to make retries safe: the same key with "
                    "the same body answers the stored response.")


def _refuse_card_numbers(data: Any) -> Any:
    # Runs before any field is validated, on the body as sent: nothing of it is echoed.
    if contains_card_number(data):
        raise CardNumberInBody()
    return data


class Body(BaseModel):
    """Every billing request body: unknown fields are refused, card numbers anywhere too."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


# -- billing details (BIL-1) ---------------------------------------------------------------------

class Address(Body):
    street: str = Field(min_length=1, max_length=200)
    additional: str | None = Field(None, max_length=200)
    postal_code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def known_country(cls, v: str) -> str:
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return v


class BillingDetailsIn(Body):
    recipient: str = Field(min_length=1, max_length=200, description="Invoice recipient")
    address: Address
    invoice_email: EmailStr
    vat_id: str | None = Field(None, min_length=4, max_length=20,
                               description="EU VAT id with country prefix, checked per country")


class BillingDetails(BaseModel):
    recipient: str
    address: Address
    invoice_email: str
    vat_id: str | None = None
    updated_at: datetime | None = None


# -- payment methods (BIL-2) ---------------------------------------------------------------------

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


# -- subscriptions (BIL-5) -----------------------------------------------------------------------

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


# -- invoices (BIL-6, BIL-7) ---------------------------------------------------------------------

class InvoiceLine(BaseModel):
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int


class BilledWith(BaseModel):
    id: str
    kind: str
    display: str


class Invoice(BaseModel):
    invoice_id: str
    number: str
    issued_at: datetime
    due_date: date
    currency: str
    amount_minor: int
    lines: list[InvoiceLine]
    customer_number: str | None
    payment_method: BilledWith | None = Field(description="The method active when issued")


def invoice_out(d: dict) -> Invoice:
    return Invoice(**{**d, "customer_number": d.get("customer_number") or None})


class InvoicePage(BaseModel):
    items: list[Invoice]
    next_cursor: str | None


class OnlineInvoicePage(InvoicePage):
    customer_numbers: list[str] = Field(description="The linked landline numbers shown")


class PageQuery(BaseModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=400)


class OnlineInvoiceQuery(PageQuery):
    customer_number: str | None = Field(None, max_length=20)


class InvoiceReader(BaseModel):
    user_id: str
    granted_at: datetime
    granted_by: str


class InvoiceReaders(BaseModel):
    items: list[InvoiceReader]


# -- the routes ----------------------------------------------------------------------------------

class BillingAccount(BaseModel):
    company_id: str
    company_name: str
    status: str
    opened_at: datetime
    active_payment_method_id: str | None = None


@routes.get("/v1/billing-account", response=BillingAccount, access=BILLING_ADMINS,
            tags=("billing account",), problems=(404,))
async def get_billing_account(request: web.Request, principal: Principal) -> BillingAccount:
    """The calling company's billing account."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return BillingAccount(**account, active_payment_method_id=account.get("active_method_id"))


@routes.get("/v1/billing-details", response=BillingDetails, access=BILLING_ADMINS,
            tags=("billing details",), problems=(404,))
async def get_billing_details(request: web.Request, principal: Principal) -> dict:
    """BIL-1: invoice recipient, address, invoice email and VAT id."""
    return await handlers.billing_details(request.app[STORE], principal.company_id)


@routes.put("/v1/billing-details", body=BillingDetailsIn, response=BillingDetails,
            access=BILLING_WRITERS, tags=("billing details",), problems=(404,))
async def put_billing_details(request: web.Request, body: BillingDetailsIn,
                              principal: Principal) -> dict:
    """BIL-1: set the billing details (VAT id checked per country)."""
    return await handlers.set_billing_details(request.app[STORE], principal,
                                              body.model_dump(mode="json"))


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


@routes.get("/v1/invoices", query=PageQuery, response=InvoicePage, access=BILLING_ADMINS,
            tags=("invoices",))
async def list_invoices(request: web.Request, query: PageQuery,
                        principal: Principal) -> InvoicePage:
    """BIL-6: the company's invoices, newest first; pass `next_cursor` for the next page."""
    items, cursor = await handlers.invoice_page(request.app[STORE], principal.company_id,
                                                limit=query.limit, cursor=query.cursor)
    return InvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor)


@routes.get("/v1/online-invoices", query=OnlineInvoiceQuery, response=OnlineInvoicePage,
            access=COMPANY_USERS, tags=("online invoices",), problems=(404,))
async def list_online_invoices(request: web.Request, query: OnlineInvoiceQuery,
                               principal: Principal) -> OnlineInvoicePage:
    """BIL-7: invoices of the company's linked landline customer numbers, for administrators
    and the users they granted online invoices to."""
    items, cursor, numbers = await handlers.online_invoices(
        request.app[STORE], principal, limit=query.limit, cursor=query.cursor,
        customer_number=query.customer_number)
    return OnlineInvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor,
                             customer_numbers=numbers)


@routes.get("/v1/online-invoices/readers", response=InvoiceReaders, access=BILLING_ADMINS,
            tags=("online invoices",), problems=(404,))
async def list_invoice_readers(request: web.Request, principal: Principal) -> InvoiceReaders:
    """BIL-7: the users an administrator granted online invoices to."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return InvoiceReaders(items=account.get("invoice_readers", []))


@routes.put("/v1/online-invoices/readers/{user_id}", response=InvoiceReaders,
            access=BILLING_WRITERS, tags=("online invoices",), problems=(404,))
async def grant_invoice_reader(request: web.Request, principal: Principal) -> InvoiceReaders:
    """BIL-7: let a user of the company see the online invoices."""
    readers = await handlers.set_invoice_reader(request.app[STORE], principal,
                                                _user_id(request), True)
    return InvoiceReaders(items=readers)


@routes.delete("/v1/online-invoices/readers/{user_id}", response=InvoiceReaders,
               access=BILLING_WRITERS, tags=("online invoices",), problems=(404,))
async def revoke_invoice_reader(request: web.Request, principal: Principal) -> InvoiceReaders:
    """BIL-7: take the online invoices away from a user again."""
    readers = await handlers.set_invoice_reader(request.app[STORE], principal,
                                                _user_id(request), False)
    return InvoiceReaders(items=readers)


def _user_id(request: web.Request) -> str:
    user_id = request.match_info["user_id"]
    if not 1 <= len(user_id) <= 100:
        raise InvalidInput([{"field": "user_id", "rule": "length",
                             "message": "A user id has 1 to 100 characters."}])
    return user_id
