"""identity's consumers on the in-memory bus (no broker; MongoDB emulator): the CRM's and
contracts' customer-number events let a contract holder log in with the number, identity's own
queued requests send one link however often their event comes, and what can not be read is
parked with its reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.identity import consumers, events
from services.identity.app import key_encryption
from services.identity.domain.commands import (
    ListHeldNumbers,
    RequestCustomerNumberAccess,
    RequestPasswordReset,
)
from services.identity.domain.companies import Company, RegisteringAdmin
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    account,
    claim_login,
    customer_number_access,
    customer_numbers,
)
from services.identity.settings import IdentitySettings
from services.identity.store import IdentityStore
from services.identity.tokens import SigningKeys
from shared.bus import InMemoryBus
from shared.events import make_event
from shared.metrics import Metrics
from shared.ratelimit import RateLimiter
from shared.relay import Relay
from tests.support.memory import InMemoryService
from tests.support.services import envelope

pytestmark = pytest.mark.integration

CLIENT_IP = "203.0.113.9"


async def wired(db, memory_bus: InMemoryBus) -> InMemoryService[Identity]:
    """identity as app.py wires it, on the test's database and the in-memory bus."""
    metrics = Metrics("identity")
    relay = Relay(memory_bus, metrics)
    store = IdentityStore.on(db, on_events=relay.wake)
    for aggregates in store.aggregates:
        relay.watch(aggregates)
    await store.apply_indexes()
    settings = IdentitySettings(dev_mode=True)
    keys = SigningKeys(store.signing_keys, key_encryption(settings))
    await keys.load()
    limits = RateLimiter(store.counters, metrics)
    await limits.apply_indexes()
    uow = Identity(store=store, keys=keys, settings=settings, limits=limits)
    memory_bus.retry_delays = [0, 0]
    memory_bus.subscribe(consumers.subscriptions(uow))
    return InMemoryService(memory_bus, relay, uow)


def new_number() -> str:
    return str(uuid.uuid4().int % 10**10).rjust(10, "1")


def crm_issued(number: str, email: str, segment: str = "business") -> dict:
    return envelope("crm.customer_number.issued.v1", {
        "customer_number": number, "kind": "landline", "segment": segment,
        "holder_name": "Muster GmbH", "contact_email": email, "language": "de",
        "contracts": [{"contract_id": "K-1", "product": "Cloud PBX", "segment": segment,
                       "status": "active"}]}, source="/crm")


def linked(number: str, company_id: str, linked_by: str, *, after: float = 0) -> dict:
    event = envelope("contracts.customer_number.linked.v1", {
        "company_id": company_id, "customer_number": number, "kind": "landline",
        "link_type": "holder", "contract_ids": ["K-1"], "access_numbers": [],
        "linked_by": linked_by}, company_id=company_id, source="/services/contracts")
    event["time"] = (datetime.now(UTC) + timedelta(seconds=after)).isoformat()
    return event


def unlinked(number: str, company_id: str, *, after: float = 0) -> dict:
    event = envelope("contracts.customer_number.unlinked.v1", {
        "company_id": company_id, "customer_number": number}, company_id=company_id,
        source="/services/contracts")
    event["time"] = (datetime.now(UTC) + timedelta(seconds=after)).isoformat()
    return event


async def active_user(uow: Identity, company_id: str, email: str,
                      username: str | None = None) -> User:
    user = User.new(user_id=str(uuid.uuid4()), company_id=company_id, email=email,
                    email_verified=True, username=username, first_name="Clara",
                    surname="Horváth", phone=None, language="de", role="company_admin",
                    status="active", password_hash=None, now=datetime.now(UTC))
    await claim_login(uow, f"email:{email}", user.id)
    if username:
        await claim_login(uow, f"username:{username.lower()}", user.id)
    await uow.users.create(user)
    return user


async def test_a_linked_holder_logs_in_with_the_customer_number(db, memory_bus):
    service = await wired(db, memory_bus)
    company_id, number = str(uuid.uuid4()), new_number()
    holder = await active_user(service.uow, company_id, f"{uuid.uuid4().hex}@muster.example")
    await service.receive(crm_issued(number, "it@muster.example"),
                          linked(number, company_id, holder.id))
    assert await customer_numbers.login_user_id(service.uow, number) == holder.id
    (held,) = await customer_numbers.held_numbers(ListHeldNumbers(company_id), service.uow)
    assert (held.customer_number, held.holder_name, held.login_user_id, held.designated) == (
        number, "Muster GmbH", holder.id, False)
    assert service.bus.parked == []


async def test_an_unlink_ends_the_login_and_an_older_link_coming_late_does_not_bring_it_back(
        db, memory_bus):
    service = await wired(db, memory_bus)
    company_id, number = str(uuid.uuid4()), new_number()
    holder = await active_user(service.uow, company_id, f"{uuid.uuid4().hex}@muster.example")
    link = linked(number, company_id, holder.id)
    await service.receive(crm_issued(number, "it@muster.example"), link,
                          unlinked(number, company_id, after=1), link)
    assert await customer_numbers.login_user_id(service.uow, number) is None
    assert await customer_numbers.held_numbers(ListHeldNumbers(company_id), service.uow) == []
    assert service.bus.parked == []


async def test_a_forgotten_password_by_number_sends_one_link_however_often_its_event_comes(
        db, memory_bus):
    service = await wired(db, memory_bus)
    number, reference = new_number(), f"{uuid.uuid4().hex}@muster.example"
    await service.receive(crm_issued(number, reference))
    await customer_number_access.request_access(
        RequestCustomerNumberAccess(number, CLIENT_IP), service.uow)
    await service.settle()
    (asked,) = service.published(events.CUSTOMER_NUMBER_ACCESS_ASKED.type,
                                 customer_number=number)
    await service.receive(asked)  # the broker hands the same request over again
    (sent,) = service.published(events.CUSTOMER_NUMBER_ACCESS_REQUESTED.type,
                                customer_number=number)
    assert sent["data"]["email"] == reference and sent["data"]["holder_name"] == "Muster GmbH"
    assert service.bus.parked == []


async def test_a_private_number_gets_no_link(db, memory_bus):
    service = await wired(db, memory_bus)
    number = new_number()
    await service.receive(crm_issued(number, "home@example.org", segment="private"))
    await customer_number_access.request_access(
        RequestCustomerNumberAccess(number, CLIENT_IP), service.uow)
    await service.settle()
    assert service.published(events.CUSTOMER_NUMBER_ACCESS_REQUESTED.type) == []
    assert service.bus.parked == []


async def test_a_password_reset_request_sends_one_link_however_often_its_event_comes(
        db, memory_bus):
    service = await wired(db, memory_bus)
    email = f"{uuid.uuid4().hex}@muster.example"
    user = await active_user(service.uow, str(uuid.uuid4()), email)
    await account.request_password_reset(RequestPasswordReset(email, CLIENT_IP), service.uow)
    await service.settle()
    (asked,) = service.published(events.PASSWORD_RESET_ASKED.type)
    await service.receive(asked)
    (sent,) = service.published(events.PASSWORD_RESET_REQUESTED.type)
    assert (sent["data"]["user_id"], sent["data"]["email"]) == (user.id, email)
    assert service.bus.parked == []


async def test_a_new_login_domain_moves_the_usernames_once_however_often_its_event_comes(
        db, memory_bus):
    service = await wired(db, memory_bus)
    company_id, old, new = str(uuid.uuid4()), f"o{uuid.uuid4().hex[:8]}", f"n{uuid.uuid4().hex[:8]}"
    user = await active_user(service.uow, company_id, f"{uuid.uuid4().hex}@muster.example",
                             username=f"anna@{old}")
    await service.uow.companies.create(Company.register(
        company_id=company_id, name="Muster GmbH", login_domain=new, language="de",
        now=datetime.now(UTC), admin=RegisteringAdmin(
            user_id=user.id, email=user.email, first_name="Clara", surname="", phone="")))
    changed = make_event(events.LOGIN_DOMAIN_CHANGED, events.LoginDomainChanged(
        company_id=company_id, login_domain=new, previous_login_domain=old),
        source=events.SOURCE, company_id=company_id)
    await service.receive(changed, changed)
    moved = await service.uow.users.get(user.id)
    assert moved is not None and moved.username == f"anna@{new}"
    assert await service.uow.login_ids.owner(f"username:anna@{new}") == user.id
    assert await service.uow.login_ids.owner(f"username:anna@{old}") is None
    (notice,) = service.published(events.USERNAME_CHANGED.type, user_id=user.id)
    assert notice["data"]["username"] == f"anna@{new}"
    assert service.bus.parked == []


async def test_malformed_data_is_parked_as_invalid_data_and_changes_nothing(db, memory_bus):
    service = await wired(db, memory_bus)
    number = new_number()
    broken = linked(number, "c-1", "u-1")
    del broken["data"]["company_id"]
    await service.receive(broken)
    (parked,) = service.bus.parked
    assert parked.reason == "invalid-data" and "company_id" in parked.detail
    assert await service.uow.customer_numbers.get(number) is None
