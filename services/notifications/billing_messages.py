"""The messages billing's events ask for (BIL-3, BIL-6): what notifications reads of each
event and the message it composes. ``consumers.MESSAGES`` lists them with the others."""

from __future__ import annotations

from datetime import date

from pydantic import EmailStr

from services.notifications.handlers import Notifications, Outgoing
from shared.events import EventData


class PaymentMethodActivated(EventData):
    company_id: str
    kind: str
    display: str
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodRemoved(EventData):
    company_id: str
    kind: str
    display: str
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodUpdated(EventData):
    company_id: str
    kind: str
    display: str
    exp_month: int
    exp_year: int
    invoice_email: EmailStr | None = None
    language: str | None = None


class InvoiceRecorded(EventData):
    company_id: str
    number: str
    amount_minor: int
    currency: str
    due_date: date
    payment_method_display: str
    invoice_email: EmailStr
    language: str | None = None


def _payment_method(ctx: Notifications, d: PaymentMethodActivated) -> Outgoing | None:
    if d.invoice_email is None:
        return None  # no invoice address yet: nobody to tell
    return Outgoing("payment_method_activated", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display},
                    company_id=d.company_id)


def _payment_method_removed(ctx: Notifications, d: PaymentMethodRemoved) -> Outgoing | None:
    if d.invoice_email is None:
        return None
    return Outgoing("payment_method_removed", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display},
                    company_id=d.company_id)


def _payment_method_updated(ctx: Notifications, d: PaymentMethodUpdated) -> Outgoing | None:
    if d.invoice_email is None:
        return None
    return Outgoing("payment_method_updated", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display,
                            "expiry": f"{d.exp_month:02d}/{d.exp_year}"},
                    company_id=d.company_id)


def _invoice(ctx: Notifications, d: InvoiceRecorded) -> Outgoing:
    return Outgoing("invoice_issued", str(d.invoice_email), d.language,
                    values={"number": d.number, "amount_minor": d.amount_minor,
                            "currency": d.currency, "due_date": d.due_date.isoformat(),
                            "payment_method_display": d.payment_method_display},
                    company_id=d.company_id)


BILLING_MESSAGES = [
    ("billing.payment_method.activated.v1", PaymentMethodActivated, _payment_method),
    ("billing.payment_method.removed.v1", PaymentMethodRemoved, _payment_method_removed),
    ("billing.payment_method.updated.v1", PaymentMethodUpdated, _payment_method_updated),
    ("billing.invoice.recorded.v1", InvoiceRecorded, _invoice),
]
