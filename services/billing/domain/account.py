"""The billing account aggregate: one document per company holding its billing details,
payment methods, the one active method, subscriptions, the history of changes and the users
granted online invoices. Everything that must hold together (BIL-3: exactly one active
method) lives in this one document, saved whole with an optimistic version.

Each change is a method; the events it causes wait in ``events`` until the store saves the
account with them. No I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr

from services.billing.domain import events as de
from services.billing.domain.catalogue import PRODUCTS
from services.billing.domain.details import BillingDetails
from services.billing.domain.errors import (
    BillingDetailsNotFound,
    PaymentMethodNotACard,
    PaymentMethodNotFound,
    PaymentMethodNotUsable,
    PaymentMethodRequired,
    PaymentMethodStillNeeded,
    SubscriptionCancelled,
    SubscriptionNotFound,
    UnknownProduct,
)
from services.billing.domain.payment_methods import (
    PENDING_CHECK,
    REJECTED,
    USABLE,
    CardDetails,
    CreditCheck,
    PaymentMethod,
    SepaDetails,
)
from services.billing.domain.sepa import mandate_reference
from services.billing.domain.stored import Stored
from services.billing.domain.subscriptions import Subscription, check_licences

# History entries kept inside the account; older ones move to the archive collection.
HISTORY_KEPT = 100


class HistoryEntry(Stored):
    """One change of the account; further fields depend on the action (``kind``,
    ``previous_payment_method_id``, ``user_id``…)."""

    model_config = ConfigDict(extra="allow")

    seq: int
    at: datetime
    action: str
    by: str

    @property
    def payment_method_id(self) -> str | None:
        value = (self.model_extra or {}).get("payment_method_id")
        return value if isinstance(value, str) else None


class InvoiceReader(Stored):
    """A user an administrator granted the online invoices (BIL-7)."""

    user_id: str
    granted_at: datetime
    granted_by: str


class BillingAccount(Stored):
    company_id: str
    company_name: str
    status: str
    opened_at: datetime
    opened_by_event: str | None = None
    admin_email: str | None = None
    language: str | None = None
    details: BillingDetails | None = None
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    active_method_id: str | None = None
    method_seq: int = 0
    subscriptions: list[Subscription] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    history_seq: int = 0
    invoice_readers: list[InvoiceReader] = Field(default_factory=list)

    _events: list[de.DomainEvent] = PrivateAttr(default_factory=list)

    @classmethod
    def open(cls, company_id: str, company_name: str, admin_email: str | None, language: str,
             event_id: str, now: datetime) -> BillingAccount:
        return cls(company_id=company_id, company_name=company_name, status="open",
                   opened_at=now, opened_by_event=event_id, admin_email=admin_email,
                   language=language)

    @property
    def events(self) -> list[de.DomainEvent]:
        """The events the changes so far cause, in order (saved with the account)."""
        return list(self._events)

    def record(self, action: str, *, by: str, now: datetime,
               method: PaymentMethod | None = None, **detail: Any) -> None:
        """Keep a change in the account's history (the store archives what exceeds the cap)."""
        self.history_seq += 1
        if method is not None:
            detail.update(payment_method_id=method.id, kind=method.kind, display=method.display)
        self.history.append(HistoryEntry(seq=self.history_seq, at=now, action=action, by=by,
                                         **detail))

    @property
    def invoice_email(self) -> str | None:
        return (self.details.invoice_email if self.details else None) or self.admin_email

    # -- payment methods (BIL-2, BIL-3) -------------------------------------------------------

    def find_method(self, method_id: str, *, removed: bool = False) -> PaymentMethod:
        """The method ``method_id``; a removed one only with ``removed`` (invoices billed with
        it still name it), else it is not found."""
        for m in self.payment_methods:
            if m.id == method_id and (removed or not m.removed):
                return m
        raise PaymentMethodNotFound(f"This company has no payment method {method_id!r}.")

    def live_methods(self) -> list[PaymentMethod]:
        """The methods the company has (a removed one is kept only for its invoices)."""
        return [m for m in self.payment_methods if not m.removed]

    @property
    def active_method(self) -> PaymentMethod | None:
        return self.find_method(self.active_method_id) if self.active_method_id else None

    def add_method(self, method: PaymentMethod, *, by: str, now: datetime) -> PaymentMethod:
        """A new method: usable ones are active at once (BIL-3); SEPA waits for the credit
        check. The account keeps its own copy (a retried change adds it afresh)."""
        method = method.model_copy(deep=True)
        if isinstance(method.details, SepaDetails):
            n = sum(1 for m in self.payment_methods if m.kind == "sepa_debit") + 1
            method.details.mandate_reference = mandate_reference(self.company_id, n)
        self.payment_methods.append(method)
        self.record("added", by=by, now=now, method=method, status=method.status)
        if method.status == USABLE:
            self.activate(method.id, by=by, now=now)
        elif method.status == PENDING_CHECK and isinstance(method.details, SepaDetails):
            d = method.details
            self._events.append(de.CreditCheckRequested(
                request_id=method.credit_check_request_id or "", company_id=self.company_id,
                payment_method_id=method.id, account_holder=d.account_holder, iban=d.iban,
                bic=d.bic, mandate_reference=d.mandate_reference or ""))
        return method

    def activate(self, method_id: str, *, by: str, now: datetime) -> None:
        """Make ``method_id`` the one active method; every subscription bills with it now."""
        method = self.find_method(method_id)
        if method.status != USABLE:
            reason = ("its credit check is still running" if method.status == PENDING_CHECK
                      else "it was rejected by the credit check")
            raise PaymentMethodNotUsable(f"The payment method can not be activated: {reason}.",
                                         payment_method_id=method_id,
                                         method_status=method.status)
        previous = self.active_method_id
        if previous == method_id:
            return
        self.active_method_id = method_id
        method.last_activated_at = now
        self.record("activated", by=by, now=now, method=method,
                    previous_payment_method_id=previous)
        for s in self.subscriptions:
            if s.status == "awaiting_payment_method":
                s.status = "active"
                s.started_at = now
        self._events.append(de.PaymentMethodActivated(
            company_id=self.company_id, payment_method_id=method_id, kind=method.kind,
            display=method.display, previous_payment_method_id=previous,
            invoice_email=self.invoice_email, language=self.language))

    def apply_credit_check(self, *, request_id: str, method_id: str, approved: bool,
                           reason: str | None, now: datetime) -> bool:
        """The provider's answer: the method becomes usable (and active) or rejected.

        False when the answer fits no pending check of this account (unknown method or
        request); an answer given before, or for a method removed since, changes nothing."""
        try:
            method = self.find_method(method_id, removed=True)
        except PaymentMethodNotFound:
            return False
        if method.credit_check_request_id != request_id:
            return False
        if method.status != PENDING_CHECK or method.removed:
            return True
        method.credit_check = CreditCheck(outcome="approved" if approved else "rejected",
                                          reason=reason, answered_at=now)
        if not approved:
            method.status = REJECTED
            method.rejection_reason = reason or "The credit check was negative."
            self.record("rejected", by="credit-check", now=now, method=method,
                        reason=method.rejection_reason)
            return True
        method.status = USABLE
        self.record("approved", by="credit-check", now=now, method=method)
        self.activate(method_id, by="credit-check", now=now)
        return True

    def remove(self, method_id: str, *, by: str, now: datetime) -> None:
        """Remove a method (BIL-3 "change an existing one"). The active one goes only when
        another usable method exists, which becomes active in the same write (exactly one
        stays active): the one active most recently before, else the newest. The removed
        method stays for the invoices billed with it; its provider token is dropped."""
        method = self.find_method(method_id)
        was_active = self.active_method_id == method_id
        successor = None
        if was_active:
            others = [m for m in self.live_methods() if m.id != method_id and m.status == USABLE]
            if not others:
                raise PaymentMethodStillNeeded(
                    "This is the company's only usable payment method and it is active: add "
                    "another method first (it becomes active at once), then remove this one.",
                    payment_method_id=method_id)
            successor = max(others, key=lambda m: (_aware(m.last_activated_at or m.created_at),
                                                   m.created_at))
        method.removed_at = now
        method.removed_by = by
        if isinstance(method.details, CardDetails):
            method.details.provider_token = None  # a credential, no longer needed
        self.record("removed", by=by, now=now, method=method, was_active=was_active)
        removal_index = len(self._events)
        if successor is not None:
            self.activate(successor.id, by=by, now=now)
        # The removal is announced before the activation it caused.
        self._events.insert(removal_index, de.PaymentMethodRemoved(
            company_id=self.company_id, payment_method_id=method_id, kind=method.kind,
            display=method.display, active_payment_method_id=self.active_method_id,
            invoice_email=self.invoice_email, language=self.language))

    def update_card(self, method_id: str, *, exp_month: int, exp_year: int,
                    provider_token: str, holder_name: str | None, by: str,
                    now: datetime) -> PaymentMethod:
        """A card's new expiry with the provider's new token (checked by the provider); brand
        and last four digits stay, so do the method's id and whether it is active."""
        method = self.find_method(method_id)
        if not isinstance(method.details, CardDetails):
            raise PaymentMethodNotACard(
                "Only a credit card's expiry can be updated; for other changes add the method "
                "anew (it becomes active at once) and remove the old one.",
                payment_method_id=method_id, kind=method.kind)
        d = method.details
        previous_month, previous_year = d.exp_month, d.exp_year
        d.exp_month, d.exp_year, d.provider_token = exp_month, exp_year, provider_token
        if holder_name:
            d.holder_name = holder_name
        method.updated_at = now
        self.record("card_updated", by=by, now=now, method=method, exp_month=d.exp_month,
                    exp_year=d.exp_year, previous_exp_month=previous_month,
                    previous_exp_year=previous_year)
        self._events.append(de.PaymentMethodUpdated(
            company_id=self.company_id, payment_method_id=method_id, kind=method.kind,
            display=method.display, exp_month=d.exp_month, exp_year=d.exp_year,
            active=self.active_method_id == method_id, invoice_email=self.invoice_email,
            language=self.language))
        return method

    def activated_at(self, when: datetime) -> str | None:
        """The method the kept history shows activated last at or before ``when``."""
        for entry in reversed(self.history):
            if entry.action == "activated" and _aware(entry.at) <= when:
                return entry.payment_method_id
        return None

    @property
    def history_starts_in_archive(self) -> bool:
        """Whether older entries than the kept ones exist (in the archive)."""
        return bool(self.history) and self.history[0].seq > 1

    def active_method_at(self, when: datetime, *,
                         archived: str | None = None) -> PaymentMethod | None:
        """The method that was active at ``when``: from the kept history, else ``archived``
        (the archive's answer, for activations older than the kept history), else the one
        active now. A method removed since still counts: the invoice was billed with it."""
        chosen = self.activated_at(when) or archived or self.active_method_id
        if chosen is None:
            return None
        try:
            return self.find_method(chosen, removed=True)
        except PaymentMethodNotFound:
            return None

    # -- billing details (BIL-1) and online invoices (BIL-7) ----------------------------------

    def billing_details(self) -> BillingDetails:
        if self.details is None:
            raise BillingDetailsNotFound("No billing details yet; set them with PUT "
                                         "/v1/billing-details or with a booking.")
        return self.details

    def set_details(self, details: BillingDetails, *, by: str, now: datetime) -> None:
        self.details = details.model_copy(update={"updated_at": now, "updated_by": by})
        self.record("billing_details_changed", by=by, now=now)

    def grants_online_invoices(self, user_id: str) -> bool:
        return any(r.user_id == user_id for r in self.invoice_readers)

    def set_invoice_reader(self, user_id: str, granted: bool, *, by: str,
                           now: datetime) -> None:
        """Grant (again: with a new time) or revoke a user's online invoices."""
        readers = [r for r in self.invoice_readers if r.user_id != user_id]
        was = len(readers) != len(self.invoice_readers)
        if granted:
            readers.append(InvoiceReader(user_id=user_id, granted_at=now, granted_by=by))
        if granted or was:
            self.invoice_readers = readers
        if granted != was:
            self.record("online_invoices_granted" if granted else "online_invoices_revoked",
                        by=by, now=now, user_id=user_id)

    # -- subscriptions (BIL-5) ----------------------------------------------------------------

    def book(self, product_id: str, licences: int, subscription_id: str, *, by: str,
             now: datetime) -> Subscription:
        product = PRODUCTS.get(product_id)
        if product is None:
            raise UnknownProduct([{"field": "product_id", "rule": "catalogue",
                                   "message": "No such product; see GET /v1/products."}],
                                 detail="No such product; see GET /v1/products.")
        pending = any(m.status == PENDING_CHECK for m in self.payment_methods)
        if self.active_method_id is None and not pending:
            raise PaymentMethodRequired(
                [{"field": "payment_method", "rule": "required",
                  "message": "The company has no payment method yet; send one with the "
                             "booking."}],
                detail="The company has no payment method yet: send `payment_method` with the "
                       "booking (any of the five kinds).")
        check_licences(product, licences)
        active = self.active_method_id is not None
        sub = Subscription(id=subscription_id, product_id=product.id,
                           product_name=product.name, licences=licences,
                           unit_price_minor=product.unit_price_minor, currency=product.currency,
                           status="active" if active else "awaiting_payment_method",
                           booked_at=now, booked_by=by, started_at=now if active else None,
                           cancelled_at=None)
        self.subscriptions.append(sub)
        self.record("subscription_booked", by=by, now=now, subscription_id=subscription_id,
                    product_id=product.id, licences=licences)
        return sub

    def find_subscription(self, subscription_id: str) -> Subscription:
        for s in self.subscriptions:
            if s.id == subscription_id:
                return s
        raise SubscriptionNotFound(f"This company has no subscription {subscription_id!r}.")

    def change_licences(self, subscription_id: str, licences: int, *, by: str,
                        now: datetime) -> Subscription:
        sub = self.find_subscription(subscription_id)
        if sub.status == "cancelled":
            raise SubscriptionCancelled("A cancelled subscription can not be changed; book "
                                        "again.")
        product = PRODUCTS.get(sub.product_id)
        if product is not None:
            check_licences(product, licences)
        if sub.licences != licences:
            self.record("subscription_changed", by=by, now=now, subscription_id=subscription_id,
                        licences=licences, previous_licences=sub.licences)
            sub.licences = licences
        return sub

    def cancel(self, subscription_id: str, *, by: str, now: datetime) -> Subscription:
        sub = self.find_subscription(subscription_id)
        if sub.status != "cancelled":
            sub.status = "cancelled"
            sub.cancelled_at = now
            self.record("subscription_cancelled", by=by, now=now,
                        subscription_id=subscription_id)
        return sub


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
