"""notifications' consumers on the in-memory bus (no broker; MongoDB emulator): an event that
asks for a message is sent once however often it comes, in the language identity told of the
recipient, and shows in the delivery log; failures are retried, then recorded and announced;
what can not be handled is parked with its reason."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from scripts import catalogue
from services.notifications import consumers, handlers, views
from services.notifications.domain.commands import RequestResend, SetPreferences
from services.notifications.handlers import Notifications
from services.notifications.mail import Email
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import (
    Channel,
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
)
from shared.auth import Principal
from shared.bus import InMemoryBus
from shared.metrics import Metrics
from shared.relay import Relay
from tests.support.memory import InMemoryService
from tests.support.services import envelope

pytestmark = pytest.mark.integration

EXAMPLES = {s.type: s.example for s in catalogue.published()}
INVOICE = "billing.invoice.recorded.v1"
RESET = "identity.password_reset.requested.v1"
LOGIN_CODE = "identity.login_code.requested.v1"
FAILED = "notifications.delivery.failed.v1"
RESEND = "notifications.resend.requested.v1"
SUPPORT = Principal(subject="support-desk", kind="client",
                    scopes=frozenset({"notifications:read", "notifications:resend"}))


@dataclass
class Provider:
    """A provider in memory: what it took, and the failures it is told to answer with next."""

    name: str
    taken: list[Email | SmsMessage] = field(default_factory=list)
    failures: deque[Exception] = field(default_factory=deque)

    async def send(self, message: Email | SmsMessage) -> str:
        if self.failures:
            raise self.failures.popleft()
        self.taken.append(message)
        return message.message_id if isinstance(message, Email) else message.reference

    async def close(self) -> None:
        pass

    def to(self, recipient: str) -> list[Email | SmsMessage]:
        return [m for m in self.taken
                if (m.recipient if isinstance(m, Email) else m.to) == recipient]


@dataclass
class Service(InMemoryService[Notifications]):
    email: Provider
    sms: Provider

    async def log(self, **filters: Any) -> list[views.Delivery]:
        search = {"recipient": None, "company_id": None, "kind": None, "channel": None,
                  "status": None, "since": None, "until": None, "cursor": None,
                  "limit": 200, **filters}
        return (await views.search(self.uow, SUPPORT, **search)).items


async def wired(db: Any, memory_bus: InMemoryBus) -> Service:
    """notifications as app.py wires it, on the test's database, the in-memory bus and
    providers in memory; three attempts per delivery."""
    settings = NotificationsSettings(retry_delays=[0, 0], portal_base_url="https://portal.test")
    relay = Relay(memory_bus, Metrics("notifications"))
    store = NotificationsStore.on(db, on_events=relay.wake,
                                  claim_seconds=settings.claim_seconds)
    for aggregates in store.aggregates:
        relay.watch(aggregates)
    await store.apply_indexes()
    email, sms = Provider("email-memory"), Provider("sms-memory")
    uow = Notifications(store=store, email=Channel(email, name="email"),
                        sms=Channel(sms, name="sms"), settings=settings)
    memory_bus.retry_delays = list(settings.retry_delays)
    memory_bus.subscribe(consumers.subscriptions(uow))
    return Service(memory_bus, relay, uow, email, sms)


def event_of(etype: str, **changes: Any) -> dict[str, Any]:
    data = {**EXAMPLES[etype], **changes}
    return envelope(etype, {k: v for k, v in data.items() if v is not None},
                    company_id=data.get("company_id"), source="/tests")


def text_of(message: Email | SmsMessage) -> str:
    return message.data.decode() if isinstance(message, Email) else message.text


async def test_an_invoice_is_emailed_once_however_often_the_event_comes(db, memory_bus):
    service = await wired(db, memory_bus)
    event = event_of(INVOICE, invoice_email="ap@once.example", number="R-2026-000777")
    await service.receive(event, event)
    await service.receive(event)
    (mail,) = service.email.to("ap@once.example")
    assert "R-2026-000777" in text_of(mail)
    (entry,) = await service.log(recipient="AP@once.example")
    assert (entry.kind, entry.status, entry.event_id) == ("invoice_issued", "sent", event["id"])
    assert [a.outcome for a in entry.attempts] == ["sent"] and entry.resendable
    assert service.bus.parked == [] and service.bus.published == []
    # The log answers with points in time, not local wall-clock strings.
    answered = entry.model_dump(mode="json")
    assert answered["created_at"].endswith("Z") and answered["sent_at"].endswith("Z"), answered


async def test_a_message_is_written_in_the_language_identity_told_of_the_user(db, memory_bus):
    service = await wired(db, memory_bus)
    user, company = "u-hu-1", "c-hu-1"
    await service.receive(
        event_of("identity.user.activated.v1", user_id=user, company_id=company,
                 email="Cili@Example.hu", language="hu"),
        event_of("identity.company.registered.v1", company_id=company, language="en",
                 admin_user_id="u-admin-1", admin_email="admin@example.hu"),
        event_of(RESET, user_id=user, company_id=company, email="cili@example.hu",
                 language=None),
        event_of(INVOICE, company_id=company, invoice_email="ap@example.hu", language=None))
    (reset,) = await service.log(recipient="cili@example.hu")
    (invoice,) = await service.log(recipient="ap@example.hu")
    # The user's own language first; for an address identity knows no user of, the company's.
    assert (reset.language, invoice.language) == ("hu", "en")
    assert len(service.email.to("cili@example.hu")) == len(service.email.to("ap@example.hu")) == 1


async def test_a_user_who_opted_out_gets_no_notice_but_still_gets_security_messages(
        db, memory_bus):
    service = await wired(db, memory_bus)
    user, company = "u-out-1", "c-out-1"
    await service.receive(event_of("identity.user.activated.v1", user_id=user,
                                   company_id=company, email="out@example.com"))
    await handlers.set_preferences(SetPreferences(user, company, email=False, sms=True),
                                   service.uow)
    await service.receive(
        event_of(INVOICE, company_id=company, invoice_email="out@example.com"),
        event_of(RESET, user_id=user, company_id=company, email="out@example.com"))
    statuses = {d.kind: d.status for d in await service.log(recipient="out@example.com")}
    assert statuses == {"invoice_issued": "suppressed", "password_reset": "sent"}
    assert len(service.email.to("out@example.com")) == 1


async def test_a_provider_hiccup_is_retried_and_the_log_shows_both_attempts(db, memory_bus):
    service = await wired(db, memory_bus)
    service.email.failures.append(TransientDeliveryError("SMTP 451 try later", "email-memory"))
    await service.receive(event_of(INVOICE, invoice_email="retry@example.com"))
    assert len(service.email.to("retry@example.com")) == 1
    (entry,) = await service.log(recipient="retry@example.com")
    assert entry.status == "sent"
    assert [(a.outcome, a.error) for a in entry.attempts] == [
        ("error", "SMTP 451 try later"), ("sent", None)]
    assert len(service.bus.retries) == 1 and service.bus.parked == []


async def test_a_provider_that_keeps_failing_fails_the_delivery_announces_it_and_parks(
        db, memory_bus):
    service = await wired(db, memory_bus)
    service.email.failures.extend(TransientDeliveryError("SMTP 451 busy", "email-memory")
                                  for _ in range(3))
    event = event_of(INVOICE, invoice_email="busy@example.com")
    await service.receive(event)
    assert service.email.taken == []
    (entry,) = await service.log(recipient="busy@example.com")
    assert entry.status == "failed" and entry.failure == "exhausted"
    assert len(entry.attempts) == 3
    (failed,) = service.bus.published_of(FAILED)
    assert failed["data"]["delivery_id"] == entry.id and failed["data"]["failure"] == "exhausted"
    assert "busy@example.com" not in str(failed)
    (parked,) = service.bus.parked
    assert parked.reason == "rejected" and parked.envelope["id"] == event["id"]


async def test_a_refused_message_fails_at_once_and_is_announced(db, memory_bus):
    service = await wired(db, memory_bus)
    service.email.failures.append(PermanentDeliveryError("SMTP 550 no such user",
                                                         "email-memory"))
    await service.receive(event_of(INVOICE, invoice_email="nobody@example.com"))
    (entry,) = await service.log(recipient="nobody@example.com")
    assert entry.status == "failed" and entry.failure == "permanent"
    (failed,) = service.bus.published_of(FAILED)
    assert failed["data"]["reason"] == "SMTP 550 no such user"
    # Recorded and announced: another attempt would be refused the same way.
    assert service.bus.retries == [] and service.bus.parked == []


async def test_a_login_code_goes_by_sms_and_is_never_resent(db, memory_bus):
    service = await wired(db, memory_bus)
    await service.receive(event_of(LOGIN_CODE, phone="+36 30 765 4321", code="246810"))
    (sms,) = service.sms.to("+36307654321")
    assert "246810" in sms.text
    (entry,) = await service.log(channel="sms", kind="login_code")
    assert entry.status == "sent" and not entry.resendable and "7654321" not in entry.recipient
    # A resend asked for on the bus anyway (not through the API, which refuses it): rejected.
    await service.receive(event_of(RESEND, delivery_id=entry.id, resend_id=f"{entry.id}-r1"))
    (parked,) = service.bus.parked
    assert parked.reason == "rejected" and len(service.sms.taken) == 1


async def test_a_resend_asked_for_is_announced_and_sent_again(db, memory_bus):
    service = await wired(db, memory_bus)
    await service.receive(event_of(INVOICE, invoice_email="again@example.com",
                                   number="R-2026-000888"))
    (original,) = await service.log(recipient="again@example.com")
    resend_id = await handlers.request_resend(RequestResend(
        delivery_id=original.id, company_id=None, every_company=True,
        requested_by="support-desk"), service.uow)
    await service.settle()
    (asked,) = service.bus.published_of(RESEND)
    assert asked["data"]["resend_id"] == resend_id
    first, second = service.email.to("again@example.com")
    assert "R-2026-000888" in text_of(first) and "R-2026-000888" in text_of(second)
    entries = {d.id: d for d in await service.log(recipient="again@example.com")}
    assert entries[resend_id].resend_of == original.id and entries[resend_id].status == "sent"


async def test_an_event_with_malformed_data_is_parked_as_invalid_data(db, memory_bus):
    service = await wired(db, memory_bus)
    bad = event_of(INVOICE, invoice_email="bad@example.com")
    bad["data"]["amount_minor"] = "a lot"
    await service.receive(bad)
    (parked,) = service.bus.parked
    assert parked.reason == "invalid-data" and parked.envelope["id"] == bad["id"]
    assert service.email.taken == [] and await service.log() == []
