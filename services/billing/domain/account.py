"""The billing account aggregate: one document per company holding its billing details,
payment methods, the one active method, subscriptions, the history of changes and the users
granted online invoices. Everything that must hold together (BIL-3: exactly one active
method) lives in this one document, saved whole with an optimistic version.

The functions change the document in place and return the event envelopes the change causes;
no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.billing import events as ev
from services.billing.domain.catalogue import Product
from services.billing.domain.errors import (
    PaymentMethodNotACard,
    PaymentMethodNotFound,
    PaymentMethodNotUsable,
    PaymentMethodRequired,
    PaymentMethodStillNeeded,
    SubscriptionCancelled,
    SubscriptionNotFound,
    UnknownProduct,
)
from shared.errors import InvalidInput
from shared.events import make_event

Doc = dict[str, Any]
# History entries kept inside the account; older ones move to the archive collection.
HISTORY_KEPT = 100

USABLE, PENDING_CHECK, REJECTED = "usable", "pending_check", "rejected"


def new_account(company_id: str, company_name: str, admin_email: str | None, language: str,
                event_id: str, now: datetime) -> Doc:
    return {"_id": company_id, "company_id": company_id, "company_name": company_name,
            "status": "open", "opened_at": now, "opened_by_event": event_id,
            "admin_email": admin_email, "language": language, "details": None,
            "payment_methods": [], "active_method_id": None, "method_seq": 0,
            "subscriptions": [], "history": [], "history_seq": 0, "invoice_readers": []}


def _event(spec, data: dict, doc: Doc) -> dict:
    return make_event(spec, data, source=ev.SOURCE, subject=doc["company_id"],
                      company_id=doc["company_id"])


def record(doc: Doc, action: str, *, by: str, now: datetime, method: Doc | None = None,
           **detail: Any) -> None:
    """Keep a change in the account's history (the caller archives what exceeds the cap)."""
    doc["history_seq"] = doc.get("history_seq", 0) + 1
    entry = {"seq": doc["history_seq"], "at": now, "action": action, "by": by, **detail}
    if method is not None:
        entry.update(payment_method_id=method["id"], kind=method["kind"],
                     display=method["display"])
    doc.setdefault("history", []).append(entry)


def invoice_email(doc: Doc) -> str | None:
    details = doc.get("details") or {}
    return details.get("invoice_email") or doc.get("admin_email")


def find_method(doc: Doc, method_id: str, *, removed: bool = False) -> Doc:
    """The method ``method_id``; a removed one only with ``removed`` (invoices billed with it
    still name it), else it is not found."""
    for m in doc.get("payment_methods", []):
        if m["id"] == method_id and (removed or not m.get("removed_at")):
            return m
    raise PaymentMethodNotFound(f"This company has no payment method {method_id!r}.")


def live_methods(doc: Doc) -> list[Doc]:
    """The methods the company has (a removed one is kept only for its invoices)."""
    return [m for m in doc.get("payment_methods", []) if not m.get("removed_at")]


def next_method_number(doc: Doc) -> int:
    doc["method_seq"] = doc.get("method_seq", 0) + 1
    return doc["method_seq"]


def add_method(doc: Doc, method: Doc, *, by: str, now: datetime) -> list[dict]:
    """A new method: usable ones are active at once (BIL-3); SEPA waits for the credit check."""
    doc.setdefault("payment_methods", []).append(method)
    record(doc, "added", by=by, now=now, method=method, status=method["status"])
    if method["status"] == USABLE:
        return activate(doc, method["id"], by=by, now=now)
    if method["status"] == PENDING_CHECK:
        d = method["details"]
        return [_event(ev.CREDIT_CHECK_REQUESTED, {
            "request_id": method["credit_check_request_id"], "company_id": doc["company_id"],
            "payment_method_id": method["id"], "account_holder": d["account_holder"],
            "iban": d["iban"], "bic": d["bic"], "mandate_reference": d["mandate_reference"],
        }, doc)]
    return []


def activate(doc: Doc, method_id: str, *, by: str, now: datetime) -> list[dict]:
    """Make ``method_id`` the one active method; every subscription bills with it from now."""
    method = find_method(doc, method_id)
    if method["status"] != USABLE:
        reason = ("its credit check is still running" if method["status"] == PENDING_CHECK
                  else "it was rejected by the credit check")
        raise PaymentMethodNotUsable(f"The payment method can not be activated: {reason}.",
                                     payment_method_id=method_id, method_status=method["status"])
    previous = doc.get("active_method_id")
    if previous == method_id:
        return []
    doc["active_method_id"] = method_id
    method["last_activated_at"] = now
    record(doc, "activated", by=by, now=now, method=method, previous_payment_method_id=previous)
    for s in doc.get("subscriptions", []):
        if s["status"] == "awaiting_payment_method":
            s["status"] = "active"
            s["started_at"] = now
    return [_event(ev.PAYMENT_METHOD_ACTIVATED, {
        "company_id": doc["company_id"], "payment_method_id": method_id, "kind": method["kind"],
        "display": method["display"], "previous_payment_method_id": previous,
        "invoice_email": invoice_email(doc), "language": doc.get("language"),
    }, doc)]


def apply_credit_check(doc: Doc, *, request_id: str, method_id: str, approved: bool,
                       reason: str | None, now: datetime) -> list[dict] | None:
    """The provider's answer: the method becomes usable (and active) or rejected.

    None when the answer fits no pending check of this account (unknown method or request)."""
    try:
        method = find_method(doc, method_id, removed=True)
    except PaymentMethodNotFound:
        return None
    if method.get("credit_check_request_id") != request_id:
        return None
    if method["status"] != PENDING_CHECK or method.get("removed_at"):
        # Answered before, or removed while the check ran: the answer changes nothing.
        return []
    method["credit_check"] = {"outcome": "approved" if approved else "rejected",
                              "reason": reason, "answered_at": now}
    if not approved:
        method["status"] = REJECTED
        method["rejection_reason"] = reason or "The credit check was negative."
        record(doc, "rejected", by="credit-check", now=now, method=method,
               reason=method["rejection_reason"])
        return []
    method["status"] = USABLE
    record(doc, "approved", by="credit-check", now=now, method=method)
    return activate(doc, method_id, by="credit-check", now=now)


def remove(doc: Doc, method_id: str, *, by: str, now: datetime) -> list[dict]:
    """Remove a method (BIL-3 "change an existing one"). The active one goes only when another
    usable method exists, which becomes active in the same write (exactly one stays active):
    the one active most recently before, else the newest. The removed method stays in the
    document for the invoices billed with it; its provider token is dropped."""
    method = find_method(doc, method_id)
    events: list[dict] = []
    was_active = doc.get("active_method_id") == method_id
    if was_active:
        others = [m for m in live_methods(doc) if m["id"] != method_id and m["status"] == USABLE]
        if not others:
            raise PaymentMethodStillNeeded(
                "This is the company's only usable payment method and it is active: add "
                "another method first (it becomes active at once), then remove this one.",
                payment_method_id=method_id)
        successor = max(others, key=lambda m: (_aware(m.get("last_activated_at")
                                                      or m["created_at"]), m["created_at"]))
    method["removed_at"] = now
    method["removed_by"] = by
    method.get("details", {}).pop("provider_token", None)  # a credential, no longer needed
    record(doc, "removed", by=by, now=now, method=method, was_active=was_active)
    if was_active:
        events = activate(doc, successor["id"], by=by, now=now)
    return [_event(ev.PAYMENT_METHOD_REMOVED, {
        "company_id": doc["company_id"], "payment_method_id": method_id,
        "kind": method["kind"], "display": method["display"],
        "active_payment_method_id": doc.get("active_method_id"),
        "invoice_email": invoice_email(doc), "language": doc.get("language"),
    }, doc), *events]


def update_card(doc: Doc, method_id: str, card: Doc, *, by: str, now: datetime) -> list[dict]:
    """A card's new expiry with the provider's new token (``card`` checked by the provider);
    brand and last four digits stay, so does the method's id and whether it is active."""
    method = find_method(doc, method_id)
    if method["kind"] != "credit_card":
        raise PaymentMethodNotACard(
            "Only a credit card's expiry can be updated; for other changes add the method "
            "anew (it becomes active at once) and remove the old one.",
            payment_method_id=method_id, kind=method["kind"])
    d = method["details"]
    previous = {"exp_month": d["exp_month"], "exp_year": d["exp_year"]}
    d.update(exp_month=card["exp_month"], exp_year=card["exp_year"],
             provider_token=card["provider_token"])
    if card.get("holder_name"):
        d["holder_name"] = card["holder_name"]
    method["updated_at"] = now
    record(doc, "card_updated", by=by, now=now, method=method, exp_month=d["exp_month"],
           exp_year=d["exp_year"], previous_exp_month=previous["exp_month"],
           previous_exp_year=previous["exp_year"])
    return [_event(ev.PAYMENT_METHOD_UPDATED, {
        "company_id": doc["company_id"], "payment_method_id": method_id,
        "kind": method["kind"], "display": method["display"], "exp_month": d["exp_month"],
        "exp_year": d["exp_year"], "active": doc.get("active_method_id") == method_id,
        "invoice_email": invoice_email(doc), "language": doc.get("language"),
    }, doc)]


def activated_at(doc: Doc, when: datetime) -> str | None:
    """The method the account's kept history shows activated last at or before ``when``."""
    for entry in reversed(doc.get("history", [])):
        if entry["action"] == "activated" and _aware(entry["at"]) <= when:
            return entry["payment_method_id"]
    return None


def active_method_at(doc: Doc, when: datetime, *, archived: str | None = None) -> Doc | None:
    """The method that was active at ``when``: from the kept history, else ``archived`` (the
    archive's answer, for activations older than the kept history), else the one active now.
    A method removed since still counts: the invoice was billed with it."""
    chosen = activated_at(doc, when) or archived or doc.get("active_method_id")
    if chosen is None:
        return None
    try:
        return find_method(doc, chosen, removed=True)
    except PaymentMethodNotFound:
        return None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# -- subscriptions (BIL-5) ---------------------------------------------------------------------

def book(doc: Doc, product: Product | None, licences: int, subscription_id: str, *, by: str,
         now: datetime) -> Doc:
    if product is None:
        raise UnknownProduct([{"field": "product_id", "rule": "catalogue",
                               "message": "No such product; see GET /v1/products."}],
                             detail="No such product; see GET /v1/products.")
    pending = any(m["status"] == PENDING_CHECK for m in doc.get("payment_methods", []))
    if doc.get("active_method_id") is None and not pending:
        raise PaymentMethodRequired(
            [{"field": "payment_method", "rule": "required",
              "message": "The company has no payment method yet; send one with the booking."}],
            detail="The company has no payment method yet: send `payment_method` with the "
                   "booking (any of the five kinds).")
    check_licences(product, licences)
    sub = {"id": subscription_id, "product_id": product.id, "product_name": product.name,
           "licences": licences, "unit_price_minor": product.unit_price_minor,
           "currency": product.currency,
           "status": "active" if doc.get("active_method_id") else "awaiting_payment_method",
           "booked_at": now, "booked_by": by, "started_at": now if doc.get("active_method_id")
           else None, "cancelled_at": None}
    doc.setdefault("subscriptions", []).append(sub)
    record(doc, "subscription_booked", by=by, now=now, subscription_id=subscription_id,
           product_id=product.id, licences=licences)
    return sub


def check_licences(product: Product, licences: int) -> None:
    if licences > product.max_licences:
        raise InvalidInput(
            [{"field": "licences", "rule": "max_licences",
              "message": f"{product.name} can be booked with at most {product.max_licences} "
                         "licences."}])


def find_subscription(doc: Doc, subscription_id: str) -> Doc:
    for s in doc.get("subscriptions", []):
        if s["id"] == subscription_id:
            return s
    raise SubscriptionNotFound(f"This company has no subscription {subscription_id!r}.")


def change_licences(doc: Doc, subscription_id: str, licences: int, product: Product | None, *,
                    by: str, now: datetime) -> Doc:
    sub = find_subscription(doc, subscription_id)
    if sub["status"] == "cancelled":
        raise SubscriptionCancelled("A cancelled subscription can not be changed; book again.")
    if product is not None:
        check_licences(product, licences)
    if sub["licences"] != licences:
        record(doc, "subscription_changed", by=by, now=now, subscription_id=subscription_id,
               licences=licences, previous_licences=sub["licences"])
        sub["licences"] = licences
    return sub


def cancel(doc: Doc, subscription_id: str, *, by: str, now: datetime) -> Doc:
    sub = find_subscription(doc, subscription_id)
    if sub["status"] != "cancelled":
        sub["status"] = "cancelled"
        sub["cancelled_at"] = now
        record(doc, "subscription_cancelled", by=by, now=now, subscription_id=subscription_id)
    return sub
