"""Invoices (BIL-6): issued by the invoicing engine, stored against the payment method that was
active when each was issued, and announced to the company's invoice email."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import PrivateAttr

from services.billing.domain import events as de
from services.billing.domain.errors import InvoiceLinesDoNotAddUp
from services.billing.domain.payment_methods import PaymentMethod
from services.billing.domain.stored import Stored


class InvoiceLine(Stored):
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int


class BilledWith(Stored):
    """The payment method an invoice is billed with (kept after the method is removed)."""

    id: str
    kind: str
    display: str


def sort_key(issued_at: datetime, invoice_id: str) -> str:
    # Digits only: the emulator compares ISO-date-looking strings wrongly with $lt.
    return f"{issued_at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')}|{invoice_id}"


def check_lines(lines: list[InvoiceLine], amount_minor: int) -> None:
    """Each line is quantity × unit price and the total their sum (no lines: any total)."""
    if not lines:
        return
    for i, line in enumerate(lines):
        if line.quantity * line.unit_price_minor != line.amount_minor:
            raise InvoiceLinesDoNotAddUp(f"lines.{i}: amount_minor is not quantity × "
                                         "unit_price_minor")
    if sum(line.amount_minor for line in lines) != amount_minor:
        raise InvoiceLinesDoNotAddUp("amount_minor is not the sum of the lines' amount_minor")


class Invoice(Stored):
    company_id: str
    invoice_id: str
    number: str
    issued_at: datetime
    # ISO date, as stored
    due_date: str
    currency: str
    amount_minor: int
    lines: list[InvoiceLine]
    # The landline or mobile customer number billed; "" for the company's own subscriptions.
    customer_number: str
    payment_method: BilledWith | None
    recorded_at: datetime
    event_id: str
    sort_key: str

    _events: list[de.DomainEvent] = PrivateAttr(default_factory=list)

    @classmethod
    def record(cls, *, company_id: str, invoice_id: str, number: str, issued_at: datetime,
               due_date: date, currency: str, amount_minor: int, lines: list[InvoiceLine],
               customer_number: str | None, billed_with: PaymentMethod | None,
               invoice_email: str | None, language: str | None, event_id: str,
               now: datetime) -> Invoice:
        """The invoice as billing keeps it; announced when the company has an invoice email."""
        check_lines(lines, amount_minor)
        method = None if billed_with is None else BilledWith(
            id=billed_with.id, kind=billed_with.kind, display=billed_with.display)
        invoice = cls(company_id=company_id, invoice_id=invoice_id, number=number,
                      issued_at=issued_at, due_date=due_date.isoformat(), currency=currency,
                      amount_minor=amount_minor, lines=lines,
                      customer_number=customer_number or "", payment_method=method,
                      recorded_at=now, event_id=event_id,
                      sort_key=sort_key(issued_at, invoice_id))
        if invoice_email:
            invoice._events.append(de.InvoiceRecorded(
                company_id=company_id, invoice_id=invoice_id, number=number,
                amount_minor=amount_minor, currency=currency, due_date=due_date,
                payment_method_display=method.display if method else "—",
                invoice_email=invoice_email, language=language))
        return invoice

    @property
    def events(self) -> list[de.DomainEvent]:
        return list(self._events)
