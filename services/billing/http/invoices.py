"""invoices (BIL-6) and online invoices (BIL-7)."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from services.billing import handlers, own_number
from services.billing.http import BILLING_ADMINS, BILLING_WRITERS, STORE, routes
from shared.auth import PHONE_INVOICES, Access, Principal
from shared.errors import InvalidInput

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


# ID-6: a mobile-number login reads its own number's invoices when its company allows it.
INVOICE_READERS = Access.of(roles=BILLING_ADMINS.roles, scopes=BILLING_ADMINS.scopes,
                            phone_permission=PHONE_INVOICES)
ONLINE_INVOICE_READERS = Access.of(phone_permission=PHONE_INVOICES)


@routes.get("/v1/invoices", query=PageQuery, response=InvoicePage, access=INVOICE_READERS,
            tags=("invoices",))
async def list_invoices(request: web.Request, query: PageQuery,
                        principal: Principal) -> InvoicePage:
    """BIL-6: the company's invoices, newest first; pass `next_cursor` for the next page. A
    mobile-number login (`own_number:invoices`): the invoices of the customer numbers its
    number runs under."""
    if principal.phone is not None:
        items, cursor, _ = await own_number.phone_invoices(
            request.app[STORE], principal, limit=query.limit, cursor=query.cursor)
        return InvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor)
    items, cursor = await handlers.invoice_page(request.app[STORE], principal.company_id,
                                                limit=query.limit, cursor=query.cursor)
    return InvoicePage(items=[invoice_out(d) for d in items], next_cursor=cursor)


@routes.get("/v1/online-invoices", query=OnlineInvoiceQuery, response=OnlineInvoicePage,
            access=ONLINE_INVOICE_READERS, tags=("online invoices",), problems=(404,))
async def list_online_invoices(request: web.Request, query: OnlineInvoiceQuery,
                               principal: Principal) -> OnlineInvoicePage:
    """BIL-7: invoices of the company's linked landline customer numbers, for administrators
    and the users they granted online invoices to. A mobile-number login
    (`own_number:invoices`): those of the customer numbers its number runs under."""
    reader = own_number.phone_invoices if principal.phone is not None else \
        handlers.online_invoices
    items, cursor, numbers = await reader(
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
