"""billing's read side: queries straight from MongoDB into typed models, changing nothing.
Every query is scoped by the company of the token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.billing.domain.account import BillingAccount as Account
from services.billing.domain.account import HistoryEntry
from services.billing.domain.details import BillingDetails
from services.billing.domain.errors import CustomerNumberNotLinked, field_problem
from services.billing.domain.invoices import Invoice
from services.billing.handlers import Billing
from services.billing.store import account_not_found
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Principal
from shared.errors import Forbidden, InvalidInput
from shared.pagination import decode_position, encode_cursor, paginate

ADMIN_ROLES = frozenset({COMPANY_ADMIN, BILLING_ADMIN})
INVOICES_READ = "invoices:read"
# Fields an archived history entry has besides the entry itself.
_ARCHIVE_ONLY = ("_id", "company_id", "at_ts")


class BillingAccount(BaseModel):
    """The company's billing account, opened automatically when the company registers."""

    company_id: str = Field(description="The company the account belongs to",
                            examples=["0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"])
    company_name: str = Field(description="The company's name at registration",
                              examples=["Muster GmbH"])
    status: str = Field(description="`open` while the company is a customer", examples=["open"])
    opened_at: datetime = Field(description="When the account was opened",
                                examples=["2026-03-01T10:00:00Z"])
    active_payment_method_id: str | None = Field(
        None, description="The one payment method that bills everything; null until the "
                          "company has one", examples=["pm_3f9a1c2b7d4e5f60"])


# What the answer shows of the account document (its field names as stored).
_SUMMARY = {"_id": 0, "company_id": 1, "company_name": 1, "status": 1, "opened_at": 1,
            "active_method_id": 1}


async def billing_account_summary(uow: Billing, company_id: str) -> BillingAccount:
    """The account without its methods, subscriptions and history: only what the answer
    shows is read."""
    doc = await uow.store.accounts.aggregates.collection.find_one(
        uow.store.accounts.key(company_id), _SUMMARY)
    if doc is None:
        raise account_not_found()
    return BillingAccount(company_id=doc["company_id"], company_name=doc["company_name"],
                          status=doc["status"], opened_at=doc["opened_at"],
                          active_payment_method_id=doc.get("active_method_id"))


async def billing_account(uow: Billing, company_id: str) -> Account:
    return await uow.store.accounts.load(company_id)


async def billing_details(uow: Billing, company_id: str) -> BillingDetails:
    return (await billing_account(uow, company_id)).billing_details()


# -- the history, however old (BIL-3): merged from the account and its archive, so the pager
# encodes its own position (a sequence number) in the platform's cursor format. ------------

@dataclass(frozen=True)
class HistoryPage:
    """Entries oldest first, how many the account no longer keeps, the older page's cursor."""

    items: list[HistoryEntry]
    archived: int
    next_cursor: str | None


async def history(uow: Billing, company_id: str, *, limit: int,
                  cursor: str | None) -> HistoryPage:
    """The newest ``limit`` entries before ``cursor`` (None: the newest of all)."""
    account = await billing_account(uow, company_id)
    before = _history_position(cursor) if cursor else None
    items, older = await history_page(uow, account, before=before, limit=limit)
    return HistoryPage(items, archived=max(0, account.history_seq - len(account.history)),
                       next_cursor=encode_cursor(older) if older else None)


def _history_position(cursor: str) -> int:
    """The sequence number a history cursor holds: a page starts before it."""
    key = decode_position(cursor).key
    if isinstance(key, int) and key >= 0:
        return key
    raise InvalidInput([{"field": "query.cursor", "rule": "cursor",
                         "message": "Pass the next_cursor of the previous page as is."}])


async def history_page(uow: Billing, account: Account, *, before: int | None,
                       limit: int) -> tuple[list[HistoryEntry], int | None]:
    """Up to ``limit`` entries older than sequence number ``before`` (None: the newest), oldest
    first, and the ``before`` of the next (older) page, None when this page reaches the first
    entry. Sequence numbers run from 1 without gaps, kept entries after archived ones."""
    kept = account.history
    upper = account.history_seq + 1 if before is None else before
    page = [e for e in kept if e.seq < upper][-limit:]
    first_kept = kept[0].seq if kept else account.history_seq + 1
    below = min(upper, first_kept)
    if len(page) < limit and below > 1:
        older = await uow.store.accounts.archive.find(
            {"company_id": account.company_id, "seq": {"$lt": below}}
        ).sort("seq", -1).limit(limit - len(page)).to_list()
        page = [HistoryEntry.model_validate({k: v for k, v in d.items()
                                             if k not in _ARCHIVE_ONLY})
                for d in reversed(older)] + page
    oldest = page[0].seq if page else 1
    return page, oldest if oldest > 1 else None


# -- invoices (BIL-6, BIL-7, ID-6) ---------------------------------------------------------------

async def invoice_page(uow: Billing, company_id: str, *, limit: int, cursor: str | None,
                       customer_numbers: list[str] | None = None
                       ) -> tuple[list[Invoice], str | None]:
    """Newest first; ``next_cursor`` is None on the last page."""
    query: dict[str, Any] = {"company_id": company_id}
    if customer_numbers is not None:
        query["customer_number"] = {"$in": customer_numbers}
    # The sort key ends with the invoice id, so it orders alone (and the index serves it).
    page = await paginate(uow.store.invoices.aggregates.collection, query, sort="sort_key",
                          descending=True, tie_break=False, limit=limit, cursor=cursor or None,
                          convert=Invoice.model_validate)
    return page.items, page.next_cursor


def may_read_online_invoices(principal: Principal, account: Account) -> bool:
    """Administrators; users granted it on the billing side; or an ``invoices:read`` claim."""
    return bool(ADMIN_ROLES & principal.roles) or INVOICES_READ in principal.permissions or \
        account.grants_online_invoices(principal.subject)


async def linked_landline_numbers(uow: Billing, company_id: str) -> list[str]:
    docs = await uow.store.customer_numbers.collection.find(
        {"company_id": company_id, "kind": "landline", "linked": True,
         "link_type": {"$eq": "holder"}}).to_list()
    return sorted(d["customer_number"] for d in docs)


async def online_invoices(uow: Billing, company_id: str, principal: Principal, *, limit: int,
                          cursor: str | None, customer_number: str | None
                          ) -> tuple[list[Invoice], str | None, list[str]]:
    """The invoices of the company's linked landline numbers (BIL-7), with the numbers."""
    account = await billing_account(uow, company_id)
    if not may_read_online_invoices(principal, account):
        raise Forbidden("Online invoices are for administrators and users an administrator "
                        "granted them to.")
    numbers = await linked_landline_numbers(uow, company_id)
    if customer_number is not None:
        if customer_number not in numbers:
            raise field_problem(CustomerNumberNotLinked, "query.customer_number", "linked",
                                "This landline customer number is not linked to the company; "
                                "link it to get its invoices online.")
        numbers = [customer_number]
    items, next_cursor = await invoice_page(uow, company_id, limit=limit, cursor=cursor,
                                            customer_numbers=numbers)
    return items, next_cursor, numbers


# What a mobile-number login reads of billing (ID-6, seed 002): the invoices of the customer
# numbers its number runs under, as contracts' link events tell (``access_numbers`` of the
# active contracts each of the company's links covers). Never another company's: every query
# is scoped by the token's company, and the number comes from the token alone.

async def customer_numbers_of_phone(uow: Billing, company_id: str, phone: str) -> list[str]:
    """The company's linked customer numbers with an active contract on ``phone`` (E.164)."""
    docs = await uow.store.customer_numbers.collection.find(
        {"company_id": company_id, "linked": True}).to_list()
    # Matched in Python: equality on an array member through an index fails on the emulator.
    return sorted(d["customer_number"] for d in docs if phone in d.get("access_numbers", []))


async def phone_invoices(uow: Billing, company_id: str, phone: str, *, limit: int,
                         cursor: str | None, customer_number: str | None = None
                         ) -> tuple[list[Invoice], str | None, list[str]]:
    """The invoices of the login's number (from its token): newest first, paged like every
    invoice list."""
    numbers = await customer_numbers_of_phone(uow, company_id, phone)
    if customer_number is not None:
        if customer_number not in numbers:
            raise field_problem(CustomerNumberNotLinked, "query.customer_number", "own_number",
                                "Your mobile number does not run under this customer number.")
        numbers = [customer_number]
    items, next_cursor = await invoice_page(uow, company_id, limit=limit, cursor=cursor,
                                            customer_numbers=numbers)
    return items, next_cursor, numbers
