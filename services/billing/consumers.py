"""Events billing consumes, declared in one table: each subscription names the data model the
event must match and the handler that receives it typed, which calls a use case."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.billing import handlers
from services.billing.domain.commands import (
    AnswerCreditCheck,
    OpenBillingAccount,
    ProjectLink,
    RecordInvoice,
)
from services.billing.domain.invoices import InvoiceLine
from services.billing.events import CreditCheckResult, InvoiceIssued
from services.billing.handlers import Billing
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


class CompanyRegistered(EventData):
    """What billing reads of ``identity.company.registered.v1``."""

    company_id: str
    company_name: str
    admin_email: str | None = None
    language: str = "en"


class CustomerNumberLinked(EventData):
    """What billing reads of ``contracts.customer_number.linked.v1``."""

    company_id: str
    customer_number: str
    kind: Literal["landline", "mobile"]
    link_type: Literal["holder", "user"]
    # The numbers of the active contracts the link covers: a mobile-number login reads the
    # invoices of the customer numbers its number runs under (ID-6).
    access_numbers: list[str] = Field(default=[])  # pydantic copies it per instance


class CustomerNumberUnlinked(EventData):
    company_id: str
    customer_number: str
    kind: Literal["landline", "mobile"]


def subscriptions(uow: Billing) -> list[Subscription[Any]]:
    async def company_registered(event: CloudEvent, data: CompanyRegistered) -> None:
        await handlers.open_billing_account(OpenBillingAccount(
            company_id=data.company_id, company_name=data.company_name, event_id=event.id,
            admin_email=data.admin_email, language=data.language), uow)

    async def customer_number_linked(event: CloudEvent, data: CustomerNumberLinked) -> None:
        await handlers.project_link(ProjectLink(
            company_id=data.company_id, customer_number=data.customer_number, kind=data.kind,
            linked=True, as_of=event.time.timestamp(), link_type=data.link_type,
            access_numbers=tuple(data.access_numbers)), uow)

    async def customer_number_unlinked(event: CloudEvent, data: CustomerNumberUnlinked) -> None:
        await handlers.project_link(ProjectLink(
            company_id=data.company_id, customer_number=data.customer_number, kind=data.kind,
            linked=False, as_of=event.time.timestamp()), uow)

    async def invoice_issued(event: CloudEvent, data: InvoiceIssued) -> None:
        await handlers.record_invoice(RecordInvoice(
            event_id=event.id, company_id=data.company_id, invoice_id=data.invoice_id,
            number=data.number, issued_at=data.issued_at, due_date=data.due_date,
            currency=data.currency, amount_minor=data.amount_minor,
            lines=tuple(InvoiceLine.model_validate(line.model_dump()) for line in data.lines),
            customer_number=data.customer_number), uow)

    async def credit_check_result(event: CloudEvent, data: CreditCheckResult) -> None:
        await handlers.answer_credit_check(AnswerCreditCheck(
            event_id=event.id, company_id=data.company_id, request_id=data.request_id,
            method_id=data.payment_method_id, approved=data.outcome == "approved",
            reason=data.reason), uow)

    return [
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("contracts.customer_number.linked.v1", CustomerNumberLinked,
                     customer_number_linked),
        Subscription("contracts.customer_number.unlinked.v1", CustomerNumberUnlinked,
                     customer_number_unlinked),
        Subscription("invoicing.invoice.issued.v1", InvoiceIssued, invoice_issued),
        Subscription("creditcheck.result.v1", CreditCheckResult, credit_check_result),
    ]
