"""invoices (BIL-6) and online invoices (BIL-7)."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from services.billing import handlers, views
from services.billing.domain import invoices as domain
from services.billing.domain.account import InvoiceReader as Reader
from services.billing.domain.commands import SetInvoiceReader
from services.billing.http import BILLING_ADMINS, BILLING_WRITERS, billing, routes
from shared.auth import PHONE_INVOICES, Access, Principal
from shared.errors import InvalidInput
from shared.http import company_of

# A real next_cursor (it encodes the last invoice's issue time and id).
CURSOR_EXAMPLE = "WyIyMDI2MTAzMTA4MDAwMDAwMDAwMHxpbnYtMjAyNi0xMC0wMDAwOTgiXQ"


class InvoiceLine(BaseModel):
    """One line of an invoice."""

    description: str = Field(description="What is billed",
                             examples=["Microsoft 365 Business Basic"])
    quantity: int = Field(description="How many", examples=[5])
    unit_price_minor: int = Field(description="Price of one in cents", examples=[560])
    amount_minor: int = Field(description="quantity × unit price, in cents", examples=[2800])


class BilledWith(BaseModel):
    """The payment method an invoice is billed with (kept after the method is removed)."""

    id: str = Field(description="The payment method's id", examples=["pm_3f9a1c2b7d4e5f60"])
    kind: str = Field(description="landline_bill, mobile_bill, credit_card, paypal or "
                                  "sepa_debit", examples=["credit_card"])
    display: str = Field(description="How to show the method to people",
                         examples=["Visa •••• 4242"])


class Invoice(BaseModel):
    """An invoice with its lines; amounts in cents."""

    invoice_id: str = Field(description="The invoice's id", examples=["inv-2026-11-000123"])
    number: str = Field(description="The invoice number printed on it",
                        examples=["R-2026-000123"])
    issued_at: datetime = Field(description="When it was issued",
                                examples=["2026-11-30T08:00:00Z"])
    due_date: date = Field(description="When it is due", examples=["2026-12-15"])
    currency: str = Field(description="ISO 4217 currency code", examples=["EUR"])
    amount_minor: int = Field(description="The total in cents, the sum of the lines",
                              examples=[2800])
    lines: list[InvoiceLine] = Field(description="What is billed, line by line")
    customer_number: str | None = Field(description="The landline or mobile customer number "
                                                    "billed; null for the company's own "
                                                    "subscriptions", examples=["1234567890"])
    payment_method: BilledWith | None = Field(description="The method active when issued")


def invoice_out(d: domain.Invoice) -> Invoice:
    return Invoice.model_validate({**d.model_dump(), "customer_number": d.customer_number or None})


class InvoicePage(BaseModel):
    """A page of invoices, newest first."""

    items: list[Invoice] = Field(description="The invoices of this page, newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last", examples=[CURSOR_EXAMPLE])


class OnlineInvoicePage(InvoicePage):
    """A page of the online invoices of linked landline customer numbers, newest first."""

    customer_numbers: list[str] = Field(description="The linked landline numbers shown",
                                        examples=[["1234567890", "1234567891"]])


class PageQuery(BaseModel):
    """Which page to read."""

    limit: int = Field(20, ge=1, le=100, description="Invoices per page", examples=[20])
    cursor: str | None = Field(None, max_length=400,
                               description="The `next_cursor` of the previous page, as is",
                               examples=[CURSOR_EXAMPLE])


class OnlineInvoiceQuery(PageQuery):
    """Which page to read, optionally of one customer number."""

    customer_number: str | None = Field(None, max_length=20,
                                        description="Only this linked landline customer "
                                                    "number's invoices",
                                        examples=["1234567890"])


class InvoiceReader(BaseModel):
    """A user granted the online invoices."""

    user_id: str = Field(description="The user's id",
                         examples=["7c9e2f4a-3b1d-4e6f-8a2c-5d7e9f1b3c46"])
    granted_at: datetime = Field(description="When it was granted",
                                 examples=["2026-03-05T14:00:00Z"])
    granted_by: str = Field(description="The administrator who granted it",
                            examples=["5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10"])


class InvoiceReaders(BaseModel):
    """The users granted the online invoices."""

    items: list[InvoiceReader] = Field(description="Every user granted the online invoices")


def readers_out(readers: list[Reader]) -> InvoiceReaders:
    return InvoiceReaders(items=[InvoiceReader.model_validate(r.model_dump()) for r in readers])


class ReaderPath(BaseModel):
    """The user a path names."""

    user_id: str = Field(min_length=1, max_length=100, description="The user's id (identity)",
                         examples=["7c9e2f4a-3b1d-4e6f-8a2c-5d7e9f1b3c46"])


# ID-6: a mobile-number login reads its own number's invoices when its company allows it.
INVOICE_READERS = Access.of(roles=tuple(BILLING_ADMINS.roles),
                            scopes=tuple(BILLING_ADMINS.scopes), phone_permission=PHONE_INVOICES)
ONLINE_INVOICE_READERS = Access.of(phone_permission=PHONE_INVOICES)


@routes.get("/v1/invoices", query=PageQuery, response=InvoicePage, access=INVOICE_READERS,
            tags=("invoices",))
async def list_invoices(request: web.Request, query: PageQuery,
                        principal: Principal) -> InvoicePage:
    """List the invoices

    The company's invoices, newest first; pass `next_cursor` as `cursor` for the next page.
    Company administrators and billing administrators (or a client with `billing:read`). A
    mobile-number login whose company allows it (`own_number:invoices`) sees the invoices of
    the customer numbers its number runs under."""
    uow, company_id = billing(request), company_of(principal)
    if principal.phone is not None:
        items, cursor, _ = await views.phone_invoices(
            uow, company_id, principal.phone, limit=query.limit, cursor=query.cursor)
        return InvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor)
    items, cursor = await views.invoice_page(uow, company_id, limit=query.limit,
                                             cursor=query.cursor)
    return InvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor)


@routes.get("/v1/online-invoices", query=OnlineInvoiceQuery, response=OnlineInvoicePage,
            access=ONLINE_INVOICE_READERS, tags=("online invoices",), problems=(403, 404, 422))
async def list_online_invoices(request: web.Request, query: OnlineInvoiceQuery,
                               principal: Principal) -> OnlineInvoicePage:
    """List the online invoices

    The invoices of the company's linked landline customer numbers, newest first, with the
    numbers shown; `customer_number` narrows them to one. Company administrators, billing
    administrators and the users an administrator granted online invoices to (others: 403).
    A mobile-number login whose company allows it (`own_number:invoices`) sees those of the
    customer numbers its number runs under. 422 `customer-number-not-linked` for a number
    that is not linked to the company."""
    uow, company_id = billing(request), company_of(principal)
    if principal.phone is not None:
        items, cursor, numbers = await views.phone_invoices(
            uow, company_id, principal.phone, limit=query.limit, cursor=query.cursor,
            customer_number=query.customer_number)
    else:
        items, cursor, numbers = await views.online_invoices(
            uow, company_id, principal, limit=query.limit, cursor=query.cursor,
            customer_number=query.customer_number)
    return OnlineInvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor,
                             customer_numbers=numbers)


@routes.get("/v1/online-invoices/readers", response=InvoiceReaders, access=BILLING_ADMINS,
            tags=("online invoices",), problems=(404,))
async def list_invoice_readers(request: web.Request, principal: Principal) -> InvoiceReaders:
    """List the users granted online invoices

    The users an administrator granted the online invoices to, with who granted it and
    when. Company administrators and billing administrators (or a client with
    `billing:read`)."""
    account = await views.billing_account(billing(request), company_of(principal))
    return readers_out(account.invoice_readers)


@routes.put("/v1/online-invoices/readers/{user_id}", response=InvoiceReaders,
            path_params=ReaderPath, access=BILLING_WRITERS,
            tags=("online invoices",), problems=(404, 409, 422))
async def grant_invoice_reader(request: web.Request, principal: Principal) -> InvoiceReaders:
    """Grant a user the online invoices

    Lets a user of the company see the online invoices; answers every user granted them.
    Granting it twice changes nothing. Company administrators and billing administrators;
    the change is kept in the payment history."""
    return readers_out(await handlers.set_invoice_reader(SetInvoiceReader(
        company_of(principal), principal.subject, _user_id(request), True),
        billing(request)))


@routes.delete("/v1/online-invoices/readers/{user_id}", response=InvoiceReaders,
               path_params=ReaderPath, access=BILLING_WRITERS,
               tags=("online invoices",), problems=(404, 409, 422))
async def revoke_invoice_reader(request: web.Request, principal: Principal) -> InvoiceReaders:
    """Take the online invoices away from a user

    Answers the users still granted them; a user not granted them changes nothing. Company
    administrators and billing administrators; the change is kept in the payment
    history."""
    return readers_out(await handlers.set_invoice_reader(SetInvoiceReader(
        company_of(principal), principal.subject, _user_id(request), False),
        billing(request)))


def _user_id(request: web.Request) -> str:
    user_id = request.match_info["user_id"]
    if not 1 <= len(user_id) <= 100:
        raise InvalidInput([{"field": "user_id", "rule": "length",
                             "message": "A user id has 1 to 100 characters."}])
    return user_id
