"""billing's consumers and use cases on the in-memory bus (no broker; MongoDB emulator): the
events of identity, contracts, the invoicing engine and the credit-check provider change what a
user reads of billing and cause the events billing announces, each applied once however often
it comes; what can not be handled is parked with its reason."""

from __future__ import annotations

import uuid

import pytest

from services.billing import consumers, events, handlers, views
from services.billing.domain.commands import AddPaymentMethod, SetBillingDetails
from services.billing.handlers import Billing
from services.billing.http.models import BillingDetailsIn, PayPal, SepaDebit, details_of, method_of
from services.billing.payment_provider import SandboxCardProvider
from services.billing.settings import BillingSettings
from services.billing.store import BillingStore
from shared.bus import InMemoryBus
from shared.errors import NotFound
from shared.events import make_event
from shared.metrics import Metrics
from shared.relay import Relay
from tests.support.memory import InMemoryService

pytestmark = pytest.mark.integration

IDENTITY, CONTRACTS = "/services/identity", "/services/contracts"
DETAILS = {"recipient": "Muster GmbH, Buchhaltung",
           "address": {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin",
                       "country": "DE"},
           "invoice_email": "rechnung@muster.example"}
SEPA = {"kind": "sepa_debit", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "account_holder": "Muster GmbH", "mandate_accepted": True}
PAYPAL = {"kind": "paypal", "billing_agreement_id": "B-5YM39163N4795124R",
          "payer_email": "pay@muster.example"}


Service = InMemoryService[Billing]


async def wired(db, memory_bus: InMemoryBus) -> Service:
    """billing as app.py wires it, on the test's database and the in-memory bus."""
    relay = Relay(memory_bus, Metrics("billing"))
    store = BillingStore.on(db, on_events=relay.wake)
    store.published_by(relay)
    await store.apply_indexes()
    uow = Billing(store=store, card_provider=SandboxCardProvider(), settings=BillingSettings())
    memory_bus.retry_delays = [0, 0]
    memory_bus.subscribe(consumers.subscriptions(uow))
    return Service(memory_bus, relay, uow)


def company_id() -> str:
    return str(uuid.uuid4())


def registered(company: str, name: str = "Muster GmbH") -> dict:
    return make_event("identity.company.registered.v1", {
        "company_id": company, "company_name": name, "admin_email": "admin@muster.example",
        "language": "de"}, source=IDENTITY, company_id=company)


def issued(company: str, invoice_id: str = "inv-1", **changes: object) -> dict:
    data = {"invoice_id": invoice_id, "company_id": company, "number": "R-2026-000123",
            "issued_at": "2026-11-30T08:00:00Z", "due_date": "2026-12-15", "currency": "EUR",
            "amount_minor": 4990, "lines": [{"description": "Microsoft 365 Business Basic",
                                             "quantity": 5, "unit_price_minor": 998,
                                             "amount_minor": 4990}], **changes}
    return make_event(events.INVOICE_ISSUED.type, data, source=events.INVOICE_ISSUED.event_source)


def link_event(company: str, number: str, *, linked: bool = True, kind: str = "landline",
               access_numbers: tuple[str, ...] = (), at: str | None = None) -> dict:
    data: dict[str, object] = {"company_id": company, "customer_number": number, "kind": kind}
    if linked:
        data.update(link_type="holder", access_numbers=list(access_numbers))
    etype = ("contracts.customer_number.linked.v1" if linked
             else "contracts.customer_number.unlinked.v1")
    event = make_event(etype, data, source=CONTRACTS, company_id=company)
    if at is not None:
        event["time"] = at
    return event


async def open_account(service: Service, company: str, *, details: bool = True) -> None:
    await service.receive(registered(company))
    if details:
        await handlers.set_billing_details(SetBillingDetails(
            company, "u-admin", details_of(BillingDetailsIn.model_validate(DETAILS))), service.uow)


async def test_a_registered_company_gets_one_billing_account_however_often_it_comes(
        db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    first = registered(company)
    # The same registration redelivered, and another event of it with a later name.
    await service.receive(first, first, registered(company, name="Renamed GmbH"))
    account = await views.billing_account_summary(service.uow, company)
    assert (account.company_id, account.company_name, account.status) == (
        company, "Muster GmbH", "open")
    assert account.active_payment_method_id is None
    assert service.bus.parked == [] and service.bus.published == []


async def test_an_issued_invoice_is_recorded_once_and_announced_once(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    event = issued(company)
    await service.receive(event, event)
    items, cursor = await views.invoice_page(service.uow, company, limit=10, cursor=None)
    assert [(i.invoice_id, i.amount_minor, i.customer_number) for i in items] == [
        ("inv-1", 4990, "")] and cursor is None
    (recorded,) = service.published(events.INVOICE_RECORDED.type, company_id=company)
    assert recorded["data"]["invoice_email"] == "rechnung@muster.example"
    assert recorded["data"]["language"] == "de"
    assert service.bus.parked == []


async def test_an_invoice_is_billed_with_the_method_active_when_it_was_issued(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    method, _ = await handlers.add_payment_method(AddPaymentMethod(
        company, "u-admin", method_of(PayPal.model_validate(PAYPAL))), service.uow)
    await service.settle()
    await service.receive(issued(company, issued_at="2999-01-01T00:00:00Z"))
    items, _ = await views.invoice_page(service.uow, company, limit=10, cursor=None)
    assert [i.payment_method.id if i.payment_method else None for i in items] == [method.id]
    (recorded,) = service.published(events.INVOICE_RECORDED.type, company_id=company)
    assert recorded["data"]["payment_method_display"] == method.display


async def test_an_invoice_for_a_company_without_account_is_retried_then_parked(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await service.receive(issued(company))
    (parked,) = service.bus.parked
    # The first try and the two retries the bus is configured with.
    assert parked.reason == "handler-failed" and parked.attempts == 3
    assert company in parked.detail
    items, _ = await views.invoice_page(service.uow, company, limit=10, cursor=None)
    assert items == [] and service.published(events.INVOICE_RECORDED.type) == []


async def test_an_invoice_whose_lines_do_not_add_up_is_rejected_at_once(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    await service.receive(issued(company, amount_minor=5000))
    (parked,) = service.bus.parked
    assert parked.reason == "rejected" and service.bus.retries == []  # never retried
    assert "sum of the lines" in parked.detail
    items, _ = await views.invoice_page(service.uow, company, limit=10, cursor=None)
    assert items == [] and service.published(events.INVOICE_RECORDED.type) == []


async def test_an_invoice_with_malformed_data_is_parked_as_invalid_data(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    bad = issued(company)
    bad["data"]["currency"] = "euro"
    await service.receive(bad)
    (parked,) = service.bus.parked
    assert parked.reason == "invalid-data" and parked.envelope["id"] == bad["id"]
    items, _ = await views.invoice_page(service.uow, company, limit=10, cursor=None)
    assert items == [] and service.bus.published == []


async def test_an_approved_credit_check_makes_the_sepa_mandate_the_active_method(
        db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    method, _ = await handlers.add_payment_method(AddPaymentMethod(
        company, "u-admin", method_of(SepaDebit.model_validate(SEPA))), service.uow)
    await service.settle()
    assert method.status == "pending_check"
    (requested,) = service.published(events.CREDIT_CHECK_REQUESTED.type, company_id=company)
    assert requested["data"]["payment_method_id"] == method.id
    answer = make_event(events.CREDIT_CHECK_RESULT.type, {
        "request_id": requested["data"]["request_id"], "company_id": company,
        "payment_method_id": method.id, "outcome": "approved"},
        source=events.CREDIT_CHECK_RESULT.event_source)
    await service.receive(answer, answer)
    account = await views.billing_account_summary(service.uow, company)
    assert account.active_payment_method_id == method.id
    (activated,) = service.published(events.PAYMENT_METHOD_ACTIVATED.type, company_id=company)
    assert activated["data"]["payment_method_id"] == method.id
    assert activated["data"]["kind"] == "sepa_debit"
    assert service.bus.parked == []


async def test_a_credit_check_answer_that_fits_no_pending_check_is_rejected(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    await service.receive(make_event(events.CREDIT_CHECK_RESULT.type, {
        "request_id": "cc-unknown", "company_id": company, "payment_method_id": "pm-unknown",
        "outcome": "approved"}, source=events.CREDIT_CHECK_RESULT.event_source))
    (parked,) = service.bus.parked
    assert parked.reason == "rejected" and "cc-unknown" in parked.detail
    account = await views.billing_account_summary(service.uow, company)
    assert account.active_payment_method_id is None
    assert service.published(events.PAYMENT_METHOD_ACTIVATED.type) == []


async def test_linked_numbers_give_online_invoices_and_a_phone_its_own(db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    await service.receive(
        link_event(company, "1234567890", access_numbers=("06 30 123 4567",)),
        link_event(company, "1234567891", kind="mobile"))
    assert await views.linked_landline_numbers(service.uow, company) == ["1234567890"]
    # The access number is kept in E.164: the login's phone claim finds it.
    assert await views.customer_numbers_of_phone(service.uow, company, "+36301234567") == [
        "1234567890"]
    assert service.bus.parked == []


async def test_an_unlink_removes_the_number_and_an_older_link_does_not_bring_it_back(
        db, memory_bus):
    service = await wired(db, memory_bus)
    company = company_id()
    await open_account(service, company)
    await service.receive(link_event(company, "1234567890", at="2026-01-01T10:00:00Z"),
                          link_event(company, "1234567890", linked=False,
                                     at="2026-01-02T10:00:00Z"),
                          link_event(company, "1234567890", at="2026-01-01T11:00:00Z"))
    assert await views.linked_landline_numbers(service.uow, company) == []
    assert service.bus.parked == []


async def test_a_company_reads_nothing_of_another_company(db, memory_bus):
    service = await wired(db, memory_bus)
    mine, other = company_id(), company_id()
    await open_account(service, other)
    await service.receive(issued(other), link_event(other, "1234567890"))
    with pytest.raises(NotFound):
        await views.billing_account_summary(service.uow, mine)
    items, _ = await views.invoice_page(service.uow, mine, limit=10, cursor=None)
    assert items == []
    assert await views.linked_landline_numbers(service.uow, mine) == []
