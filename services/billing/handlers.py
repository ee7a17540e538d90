"""billing's use cases: each a small function of its inputs and the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.billing import events as ev
from services.billing.accounts import (  # noqa: F401  (the account's use cases, as before)
    _now,
    billing_account,
    change_account,
    method_active_at,
    open_billing_account,
)
from services.billing.domain import account as acc
from services.billing.domain.catalogue import PRODUCTS
from services.billing.domain.details import check_vat_id
from services.billing.domain.errors import (
    BillingDetailsNotFound,
    CustomerNumberNotLinked,
    UnknownCompany,
    field_problem,
)
from services.billing.payment_methods import (  # noqa: F401  (consumers call it here)
    _place_method,
    credit_check_answered,
    new_method,
)
from services.billing.payment_provider import CardProvider
from services.billing.store import BillingStore
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Principal
from shared.errors import Forbidden, PermanentEventError
from shared.events import make_event
from shared.logging import get_logger
from shared.mongo import is_duplicate
from shared.pagination import decode_cursor, encode_cursor

log = get_logger("billing")
Doc = dict[str, Any]
ADMIN_ROLES = frozenset({COMPANY_ADMIN, BILLING_ADMIN})
INVOICES_READ = "invoices:read"


# -- billing details (BIL-1) ---------------------------------------------------------------------

def checked_details(details: Doc) -> Doc:
    details = dict(details)
    if details.get("vat_id"):
        details["vat_id"] = check_vat_id(details["vat_id"], "vat_id")
    return details


async def set_billing_details(store: BillingStore, principal: Principal, details: Doc) -> Doc:
    details = checked_details(details)

    def mutate(doc: Doc) -> list[dict]:
        now = _now()
        doc["details"] = {**details, "updated_at": now, "updated_by": principal.subject}
        acc.record(doc, "billing_details_changed", by=principal.subject, now=now)
        return []

    doc = await change_account(store, principal.company_id, mutate)
    return doc["details"]


async def billing_details(store: BillingStore, company_id: str) -> Doc:
    doc = await billing_account(store, company_id)
    if not doc.get("details"):
        raise BillingDetailsNotFound("No billing details yet; set them with PUT "
                                     "/v1/billing-details or with a booking.")
    return doc["details"]


# -- the link projection (contracts' events) -----------------------------------------------------

async def project_link(store: BillingStore, *, company_id: str, number: str, kind: str,
                       linked: bool, link: Doc, as_of: float) -> None:
    """Apply a link or unlink; an older event than the one applied last changes nothing."""
    try:
        await store.customer_numbers.update_one(
            {"_id": f"{company_id}:{number}", "as_of": {"$lte": as_of}},
            {"$set": {"company_id": company_id, "customer_number": number, "kind": kind,
                      "linked": linked, "as_of": as_of, **link}},
            upsert=True)
    except Exception as e:
        if not is_duplicate(e):  # a newer event was applied already
            raise


async def linked_landline_numbers(store: BillingStore, company_id: str) -> list[str]:
    docs = await store.customer_numbers.find(
        {"company_id": company_id, "kind": "landline", "linked": True,
         "link_type": {"$eq": "holder"}}).to_list()
    return sorted(d["customer_number"] for d in docs)


# -- invoices (BIL-6, BIL-7) ---------------------------------------------------------------------

def sort_key(issued_at: datetime, invoice_id: str) -> str:
    # Digits only: the emulator compares ISO-date-looking strings wrongly with $lt.
    return f"{issued_at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')}|{invoice_id}"


async def record_invoice(store: BillingStore, *, event_id: str, invoice: Doc) -> bool:
    """Store an issued invoice against the method active when it was issued, and announce it.

    An invoice for a company billing has no account for is retried (the registration may
    still be on its way), then parked; one whose lines do not add up is parked at once."""
    company_id = invoice["company_id"]
    if invoice["lines"]:
        for i, line in enumerate(invoice["lines"]):
            if line["quantity"] * line["unit_price_minor"] != line["amount_minor"]:
                raise PermanentEventError(f"lines.{i}: amount_minor is not quantity × "
                                          "unit_price_minor")
        if sum(line["amount_minor"] for line in invoice["lines"]) != invoice["amount_minor"]:
            raise PermanentEventError("amount_minor is not the sum of the lines' amount_minor")
    account = await store.accounts.get({"_id": company_id, "company_id": company_id})
    if account is None:
        raise UnknownCompany(f"no billing account for company {company_id} (yet)")
    issued_at: datetime = invoice["issued_at"]
    method = await method_active_at(store, account, issued_at)
    billed_with = None if method is None else {
        "id": method["id"], "kind": method["kind"], "display": method["display"]}
    doc = {"_id": f"{company_id}:{invoice['invoice_id']}", "company_id": company_id,
           "invoice_id": invoice["invoice_id"], "number": invoice["number"],
           "issued_at": issued_at, "due_date": invoice["due_date"].isoformat(),
           "currency": invoice["currency"], "amount_minor": invoice["amount_minor"],
           "lines": invoice["lines"], "customer_number": invoice.get("customer_number") or "",
           "payment_method": billed_with, "recorded_at": _now(), "event_id": event_id,
           "sort_key": sort_key(issued_at, invoice["invoice_id"])}
    email = acc.invoice_email(account)
    events = []
    if email:
        events.append(make_event(ev.INVOICE_RECORDED, {
            "company_id": company_id, "invoice_id": invoice["invoice_id"],
            "number": invoice["number"], "amount_minor": invoice["amount_minor"],
            "currency": invoice["currency"], "due_date": invoice["due_date"],
            "payment_method_display": billed_with["display"] if billed_with else "—",
            "invoice_email": email, "language": account.get("language"),
        }, source=ev.SOURCE, subject=company_id, company_id=company_id))
    else:
        log.warning("invoice recorded without an invoice email; no notice sent",
                    company_id=company_id)
    return await store.invoices.create_once(doc, events)




async def invoice_page(store: BillingStore, company_id: str, *, limit: int,
                       cursor: str | None, customer_numbers: list[str] | None = None
                       ) -> tuple[list[Doc], str | None]:
    """Newest first; ``next_cursor`` is None on the last page."""
    query: Doc = {"company_id": company_id}
    if customer_numbers is not None:
        query["customer_number"] = {"$in": customer_numbers}
    if cursor:
        query["sort_key"] = {"$lt": decode_cursor(cursor)}
    docs = await store.invoices.collection.find(query).sort("sort_key", -1).limit(
        limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, encode_cursor(docs[-1]["sort_key"]) if more and docs else None


def may_read_online_invoices(principal: Principal, account: Doc) -> bool:
    """Administrators; users granted it on the billing side; or an ``invoices:read`` claim."""
    return bool(ADMIN_ROLES & principal.roles) or INVOICES_READ in principal.permissions or any(
        r["user_id"] == principal.subject for r in account.get("invoice_readers", []))


async def online_invoices(store: BillingStore, principal: Principal, *, limit: int,
                          cursor: str | None, customer_number: str | None
                          ) -> tuple[list[Doc], str | None, list[str]]:
    account = await billing_account(store, principal.company_id)
    if not may_read_online_invoices(principal, account):
        raise Forbidden("Online invoices are for administrators and users an administrator "
                        "granted them to.")
    numbers = await linked_landline_numbers(store, principal.company_id)
    if customer_number is not None:
        if customer_number not in numbers:
            raise field_problem(CustomerNumberNotLinked, "query.customer_number", "linked",
                                "This landline customer number is not linked to the company; "
                                "link it to get its invoices online.")
        numbers = [customer_number]
    items, next_cursor = await invoice_page(store, principal.company_id, limit=limit,
                                            cursor=cursor, customer_numbers=numbers)
    return items, next_cursor, numbers


async def set_invoice_reader(store: BillingStore, principal: Principal, user_id: str,
                             granted: bool) -> list[Doc]:
    def mutate(doc: Doc) -> list[dict]:
        readers = [r for r in doc.get("invoice_readers", []) if r["user_id"] != user_id]
        was = len(readers) != len(doc.get("invoice_readers", []))
        now = _now()
        if granted:
            readers.append({"user_id": user_id, "granted_at": now,
                            "granted_by": principal.subject})
        doc["invoice_readers"] = readers if granted or was else doc.get("invoice_readers", [])
        if granted != was:
            acc.record(doc, "online_invoices_granted" if granted else "online_invoices_revoked",
                       by=principal.subject, now=now, user_id=user_id)
        return []

    doc = await change_account(store, principal.company_id, mutate)
    return doc.get("invoice_readers", [])


# -- subscriptions (BIL-5) -----------------------------------------------------------------------

async def book_subscription(store: BillingStore, provider: CardProvider, principal: Principal,
                            *, product_id: str, licences: int, payment_method: Doc | None,
                            billing_details: Doc | None) -> tuple[Doc, Doc]:
    """Book a product; a booking may bring the payment method and billing details with it,
    saved in the same write as the subscription."""
    await billing_account(store, principal.company_id)
    details = checked_details(billing_details) if billing_details else None
    method = None
    if payment_method is not None:
        method = await new_method(store, provider, principal.company_id, payment_method,
                                  by=principal.subject, field_prefix="payment_method.")
    subscription_id = f"sub_{uuid.uuid4().hex[:16]}"

    def mutate(doc: Doc) -> list[dict]:
        now, events = _now(), []
        if details is not None:
            doc["details"] = {**details, "updated_at": now, "updated_by": principal.subject}
            acc.record(doc, "billing_details_changed", by=principal.subject, now=now)
        if method is not None:
            events += _place_method(doc, {**method, "details": dict(method["details"])},
                                    principal.subject)
        acc.book(doc, PRODUCTS.get(product_id), licences, subscription_id,
                 by=principal.subject, now=now)
        return events

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_subscription(doc, subscription_id), doc


async def change_subscription(store: BillingStore, principal: Principal, subscription_id: str,
                              licences: int) -> tuple[Doc, Doc]:
    def mutate(doc: Doc) -> list[dict]:
        sub = acc.find_subscription(doc, subscription_id)
        acc.change_licences(doc, subscription_id, licences, PRODUCTS.get(sub["product_id"]),
                            by=principal.subject, now=_now())
        return []

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_subscription(doc, subscription_id), doc


async def cancel_subscription(store: BillingStore, principal: Principal,
                              subscription_id: str) -> tuple[Doc, Doc]:
    def mutate(doc: Doc) -> list[dict]:
        acc.cancel(doc, subscription_id, by=principal.subject, now=_now())
        return []

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_subscription(doc, subscription_id), doc
