"""Events billing consumes, declared in one table."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from services.billing import handlers
from services.billing.events import CreditCheckResult, InvoiceIssued
from services.billing.store import BillingStore
from shared.auth import canonical_phone
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
    access_numbers: list[str] = []


class CustomerNumberUnlinked(EventData):
    company_id: str
    customer_number: str
    kind: Literal["landline", "mobile"]


def subscriptions(store: BillingStore | None) -> list[Subscription]:
    async def company_registered(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CompanyRegistered)
        await handlers.open_billing_account(store, company_id=data.company_id,
                                            company_name=data.company_name, event_id=event.id,
                                            admin_email=data.admin_email,
                                            language=data.language)

    async def customer_number_linked(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CustomerNumberLinked)
        await handlers.project_link(store, company_id=data.company_id,
                                    number=data.customer_number, kind=data.kind, linked=True,
                                    link={"link_type": data.link_type,
                                          "access_numbers": sorted(
                                              {canonical_phone(n) for n in data.access_numbers})},
                                    as_of=event.time.timestamp())

    async def customer_number_unlinked(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CustomerNumberUnlinked)
        await handlers.project_link(store, company_id=data.company_id,
                                    number=data.customer_number, kind=data.kind, linked=False,
                                    link={}, as_of=event.time.timestamp())

    async def invoice_issued(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, InvoiceIssued)
        await handlers.record_invoice(store, event_id=event.id,
                                      invoice=data.model_dump())

    async def credit_check_result(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CreditCheckResult)
        await handlers.credit_check_answered(
            store, event_id=event.id, request_id=data.request_id, company_id=data.company_id,
            method_id=data.payment_method_id, approved=data.outcome == "approved",
            reason=data.reason)

    return [
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("contracts.customer_number.linked.v1", CustomerNumberLinked,
                     customer_number_linked),
        Subscription("contracts.customer_number.unlinked.v1", CustomerNumberUnlinked,
                     customer_number_unlinked),
        Subscription("invoicing.invoice.issued.v1", InvoiceIssued, invoice_issued),
        Subscription("creditcheck.result.v1", CreditCheckResult, credit_check_result),
    ]
