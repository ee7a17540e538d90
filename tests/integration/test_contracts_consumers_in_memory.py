"""contracts' consumers and use cases on the in-memory bus (no broker; MongoDB emulator): the
CRM's and identity's events change the store and cause the events a user would see, the
relay publishes them, and what can not be handled is parked with its reason."""

from __future__ import annotations

import uuid

import pytest

from services.contracts import consumers, events
from services.contracts.domain.commands import LinkCustomerNumber
from services.contracts.handlers import Contracts, LinkAttempts, PasswordPolicy
from services.contracts.handlers.links import link_customer_number
from services.contracts.store import ContractsStore
from shared.bus import InMemoryBus
from shared.events import make_event
from shared.metrics import Metrics
from shared.relay import Relay
from tests.support.memory import InMemoryService

pytestmark = pytest.mark.integration

CRM, IDENTITY = "/services/crm", "/services/identity"


Service = InMemoryService[Contracts]


async def wired(db, memory_bus: InMemoryBus) -> Service:
    """contracts as app.py wires it, on the test's database and the in-memory bus."""
    metrics = Metrics("contracts")
    relay = Relay(memory_bus, metrics)
    store = ContractsStore.on(db, on_events=relay.wake)
    for aggregates in store.publishing:
        relay.watch(aggregates)
    await store.apply_indexes()
    attempts = LinkAttempts.wired(store, metrics, per_company_per_hour=30, alert_after=20)
    uow = Contracts(store=store, policy=PasswordPolicy(pepper=b"in-memory-test"),
                    attempts=attempts)
    memory_bus.retry_delays = [0, 0]
    memory_bus.subscribe(consumers.subscriptions(uow))
    return Service(memory_bus, relay, uow)


def number() -> str:
    return str(uuid.uuid4().int)[:10]


def contract(contract_id: str, *, segment: str = "business", status: str = "active") -> dict:
    return {"contract_id": contract_id, "product": "CompanyFlex", "segment": segment,
            "access_number": f"+4930{contract_id[-1]}1234", "status": status}


def issued(customer_number: str, *contracts: dict) -> dict:
    return make_event(events.CUSTOMER_NUMBER_ISSUED, {
        "customer_number": customer_number, "kind": "landline", "segment": "business",
        "holder_name": "Muster GmbH", "contact_email": "it@muster.example",
        "contracts": list(contracts)}, source=CRM)


def contract_event(spec: events.EventSpec, customer_number: str, c: dict) -> dict:
    return make_event(spec, {"customer_number": customer_number, "contract": c}, source=CRM)


async def test_an_issued_number_gets_one_password_email_however_often_it_comes(db, memory_bus):
    service = await wired(db, memory_bus)
    n = number()
    event = issued(n, contract("K-1"))
    await service.receive(event, event)
    (sent,) = service.published(events.OTP_ISSUED.type, customer_number=n)
    assert sent["data"]["contact_email"] == "it@muster.example"
    assert sent["data"]["valid_for"] == "P10D" and len(sent["data"]["one_time_password"]) == 12
    saved = await service.uow.store.numbers.get({"_id": n})
    assert saved is not None and [c.contract_id for c in saved.contracts] == ["K-1"]
    assert service.bus.parked == []


async def test_a_linked_company_learns_its_contracts_when_the_crm_changes_them(db, memory_bus):
    service = await wired(db, memory_bus)
    n = number()
    await service.receive(issued(n, contract("K-1")))
    password = service.published(events.OTP_ISSUED.type)[0]["data"]["one_time_password"]
    await link_customer_number(LinkCustomerNumber(
        company_id="c-1", user_id="u-1", customer_number=n, password=password,
        link_type="holder"), service.uow)
    await service.settle()
    await service.receive(contract_event(events.CONTRACT_ADDED, n, contract("K-2")),
                          contract_event(events.CONTRACT_TERMINATED, n,
                                         contract("K-1", status="terminated")))
    linked = [e["data"] for e in service.published(events.LINKED.type, company_id="c-1")]
    assert [d["contract_ids"] for d in linked] == [["K-1"], ["K-1", "K-2"], ["K-2"]]
    assert {d["linked_by"] for d in linked} == {"u-1"}


async def test_a_contract_of_a_number_not_known_yet_is_retried_then_parked(db, memory_bus):
    service = await wired(db, memory_bus)
    await service.receive(contract_event(events.CONTRACT_ADDED, number(), contract("K-1")))
    (parked,) = service.bus.parked
    # The first try and the two retries the bus is configured with.
    assert parked.reason == "handler-failed" and parked.attempts == 3
    assert "is not known (yet)" in parked.detail


async def test_a_number_listing_one_contract_twice_is_rejected_and_nothing_is_kept(db, memory_bus):
    service = await wired(db, memory_bus)
    n = number()
    await service.receive(issued(n, contract("K-1"), contract("K-1")))
    (parked,) = service.bus.parked
    assert parked.reason == "rejected" and "listed twice" in parked.detail
    assert await service.uow.store.numbers.get({"_id": n}) is None
    assert service.published(events.OTP_ISSUED.type) == []


async def test_a_crm_event_with_malformed_data_is_parked_as_invalid_data(db, memory_bus):
    service = await wired(db, memory_bus)
    bad = issued(number(), contract("K-1"))
    del bad["data"]["kind"]
    await service.receive(bad)
    (parked,) = service.bus.parked
    assert parked.reason == "invalid-data" and parked.envelope["id"] == bad["id"]
    assert service.bus.published == []


async def test_identity_users_are_kept_with_the_newest_fact_of_each_field(db, memory_bus):
    service = await wired(db, memory_bus)
    company, user = "c-7", "u-7"
    activated = make_event("identity.user.activated.v1", {
        "user_id": user, "company_id": company, "email": "Cili@Example.com",
        "first_name": "Cili", "surname": "Kovács", "roles": ["sub_admin"],
        "parent_user_id": None, "language": "hu"}, source=IDENTITY, company_id=company)
    reactivated = make_event("identity.user.reactivated.v1", {
        "user_id": user, "company_id": company, "email": "cili@example.com"},
        source=IDENTITY, company_id=company)
    # An older deactivation arriving late does not undo the newer reactivation.
    deactivated = make_event("identity.user.deactivated.v1", {
        "user_id": user, "company_id": company, "email": "cili@example.com"},
        source=IDENTITY, company_id=company)
    deactivated["time"] = "2020-01-01T00:00:00Z"
    await service.receive(activated, reactivated, deactivated, activated)
    cili = await service.uow.store.users.get({"_id": user})
    assert cili is not None
    assert (cili.email, cili.roles, cili.active, cili.language) == (
        "cili@example.com", ["sub_admin"], True, "hu")
    assert service.bus.parked == []


async def test_a_holder_who_claimed_the_number_becomes_its_contract_holder(db, memory_bus):
    service = await wired(db, memory_bus)
    n = number()
    await service.receive(issued(n, contract("K-1")))
    claimed = make_event("identity.customer_number.claimed.v1", {
        "company_id": "c-h", "user_id": "u-h", "customer_number": n}, source=IDENTITY,
        company_id="c-h")
    await service.receive(claimed, claimed)
    (linked,) = service.published(events.LINKED.type, customer_number=n)
    assert (linked["data"]["link_type"], linked["data"]["linked_by"]) == ("holder", "u-h")
    saved = await service.uow.store.numbers.get({"_id": n})
    assert saved is not None and saved.holder_company_id == "c-h"
