"""Delivering notifications: once per event and recipient, retried, failed over, recorded
(NOT-1, NOT-3, NOT-4, PLT-2, PLT-4). Real RabbitMQ, the MongoDB wire server, a real SMTP
server (aiosmtpd) and a local SMS gateway."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import aio_pika
import pytest

from scripts import catalogue
from services.notifications.app import build
from services.notifications.consumers import MESSAGES, RESET_CODE
from services.notifications.domain.commands import Deliver, Outgoing
from services.notifications.domain.delivery import delivery_id_for
from services.notifications.domain.kinds import KINDS
from services.notifications.domain.recipients import recipient_key
from services.notifications.handlers import Notifications, create_delivery
from services.notifications.outgoing import password_reset_code, password_reset_code_sms
from services.notifications.settings import NotificationsSettings
from shared.app_keys import DB, unit
from tests.support.gateways import SmsGateway, SmtpServer
from tests.support.polling import eventually
from tests.support.services import consumed, envelope, publish, running, settings_for

pytestmark = pytest.mark.integration

EXAMPLES = {s.type: s.example for s in catalogue.published()}
FAILED = "notifications.delivery.failed.v1"
BY_CHANNEL = {"email": password_reset_code, "sms": password_reset_code_sms}


def event_of(etype: str, **changes) -> dict:
    data = {**EXAMPLES[etype], **changes}
    return envelope(etype, data, company_id=data.get("company_id"), source="/tests")


def settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path: Path, **extra):
    s = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                     bus_prefix=bus_prefix, unique=unique, mail_dir=str(tmp_path / "mail"),
                     sms_dir=str(tmp_path / "sms"), portal_base_url="https://portal.test",
                     **extra)
    s.retry_delays = [0.2, 0.2, 0.2]  # four attempts
    return s


async def deliveries(app, **query) -> list[dict]:
    return await app[DB]["deliveries"].find(query).to_list()


@contextlib.asynccontextmanager
async def published_events(amqp_url: str, bus_prefix: str, etype: str):
    """Collects the events of ``etype`` the service publishes (an exclusive queue of the
    test's own, gone when the connection closes)."""
    connection = await aio_pika.connect(amqp_url)
    got: list[dict] = []
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"{bus_prefix}.events",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue("", exclusive=True)
        await queue.bind(exchange, routing_key=etype)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            got.append(json.loads(message.body))
            await message.ack()
        await queue.consume(on_message)
        yield got
    finally:
        await connection.close()


async def parked_count(amqp_url: str, bus_prefix: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        q = await channel.declare_queue(f"{bus_prefix}.notifications.parked", passive=True)
        return q.declaration_result.message_count or 0
    finally:
        await connection.close()


async def test_every_consumed_event_delivered_twice_sends_one_message(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """PLT-2, NOT-3: each message-bearing event type, delivered twice, is one message and
    one entry in the delivery log; the projection events twice are one record each."""
    s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path)
    async with running(build, s) as server:
        app = server.app
        # One event per type; a type may ask for several messages (one per channel).
        events = [event_of(etype) for etype in dict.fromkeys(t for t, _, _ in MESSAGES)]
        # A reset code goes by the one channel its event names: one event of each channel.
        events.append(event_of(RESET_CODE, channel="email", phone=None))
        projections = [event_of("identity.company.registered.v1"),
                       event_of("identity.company.settings_changed.v1", language="hu"),
                       event_of("identity.user.activated.v1", user_id="u-2",
                                email="bela@example.com", language="en")]
        for e in events + projections:
            await publish(amqp_url, bus_prefix, e, e)
        for e in events + projections:
            await eventually(lambda e=e: consumed(app, e["type"]) >= 2, seconds=30)

        docs = await deliveries(app)
        assert sorted(d["event_id"] for d in docs) == sorted(
            e["id"] for e in events for t, _, compose in MESSAGES if t == e["type"]
            # a reset code event asks for the message of its channel only
            and (t != RESET_CODE or compose is BY_CHANNEL[e["data"]["channel"]]))
        assert all(d["status"] == "sent" for d in docs), [(d["kind"], d["status"]) for d in docs]
        assert {d["kind"] for d in docs} == set(KINDS)
        emails = list((tmp_path / "mail").glob("*.eml"))
        sms = list((tmp_path / "sms").glob("*.json"))
        by_channel = [k.channel for k in KINDS.values()]
        assert len(emails) == by_channel.count("email")
        assert len(sms) == by_channel.count("sms")
        assert {json.loads(m.read_text())["to"] for m in sms} == {"+36301234567",
                                                                   "+36709876543"}

        companies = await app[DB]["companies"].find({}).to_list()
        assert [(c["_id"], c["language"]) for c in companies] == [
            (EXAMPLES["identity.company.registered.v1"]["company_id"], "hu")]
        users = await app[DB]["users"].find({}).to_list()
        assert sorted(u["_id"] for u in users) == sorted(
            [EXAMPLES["identity.company.registered.v1"]["admin_user_id"], "u-2"])


async def test_codes_and_links_are_never_kept_in_the_delivery_log(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-4: the code reaches the phone, the link the inbox; the log holds neither."""
    s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path)
    code, token = "739104", "Zq8sPq3kR1vY0mWnA7"
    async with running(build, s) as server:
        login = event_of("identity.login_code.requested.v1", code=code)
        reg = event_of("identity.registration.started.v1", token=token)
        await publish(amqp_url, bus_prefix, login, reg)
        await eventually(lambda: consumed(server.app, reg["type"]) >= 1
                         and consumed(server.app, login["type"]) >= 1)
        sms = json.loads(next((tmp_path / "sms").glob("*.json")).read_text())
        assert code in sms["text"]
        mail = next((tmp_path / "mail").glob("*.eml")).read_bytes()
        assert token.encode() in mail
        stored = repr(await deliveries(server.app))
        assert code not in stored and token not in stored
        assert "+36301234567" not in stored and "anna@example.com" not in stored


async def test_sms_gateway_failing_first_attempts_is_retried_until_it_accepts(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: HTTP 503 is transient: retried with back-off, then sent; every attempt logged."""
    gateway = await SmsGateway(fail_first=2, username="bap", password="gw-secret").start()
    try:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     sms_gateway_url=gateway.url, sms_gateway_username="bap",
                     sms_gateway_password="gw-secret", failover_after_failures=10)
        async with running(build, s) as server:
            event = event_of("identity.login_code.requested.v1", code="551177")
            await publish(amqp_url, bus_prefix, event)
            [sms] = await gateway.wait_for(1)
            assert sms["to"] == "+36301234567" and "551177" in sms["text"]
            doc = await eventually(lambda: _sent(server.app))
            assert [a["outcome"] for a in doc["attempts"]] == ["error", "error", "sent"]
            assert doc["attempts"][0]["error"] == "HTTP 503"
            assert doc["provider_message_id"] == sms["id"]
    finally:
        await gateway.close()


async def _sent(app):
    docs = await deliveries(app, status="sent")
    return docs[0] if docs else None


async def test_secondary_sms_gateway_takes_over_when_the_primary_keeps_failing(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3 failover: after two consecutive failures the secondary provider sends, and
    keeps sending the next messages while the breaker is open."""
    primary = await SmsGateway(fail_first=1000).start()
    secondary = await SmsGateway().start()
    try:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     sms_gateway_url=primary.url, sms_gateway_secondary_url=secondary.url,
                     failover_after_failures=2, failover_cooldown_seconds=600)
        async with running(build, s) as server:
            first = event_of("identity.login_code.requested.v1", code="100001")
            await publish(amqp_url, bus_prefix, first)
            await secondary.wait_for(1)
            second = event_of("identity.login_code.requested.v1", code="100002")
            await publish(amqp_url, bus_prefix, second)
            await secondary.wait_for(2)
            assert primary.messages == [] and primary.requests == 2
            docs = {d["event_id"]: d for d in await eventually(
                lambda: _all_sent(server.app, 2))}
            assert [a["provider"] for a in docs[first["id"]]["attempts"]] == [
                "sms-gateway", "sms-gateway", "sms-gateway-secondary"]
            assert docs[second["id"]]["provider"] == "sms-gateway-secondary"
            assert len(docs[second["id"]]["attempts"]) == 1
    finally:
        await primary.close()
        await secondary.close()


async def _all_sent(app, n):
    docs = await deliveries(app, status="sent")
    return docs if len(docs) >= n else None


async def test_delivery_failing_every_attempt_is_failed_announced_and_parked(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: after the last attempt the log says failed with every attempt,
    notifications.delivery.failed.v1 is published and the event is parked."""
    gateway = await SmsGateway(fail_first=1000, fail_status=429).start()
    try:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     sms_gateway_url=gateway.url)
        async with (running(build, s) as server,
                    published_events(amqp_url, bus_prefix, FAILED) as failed):
            event = event_of("identity.login_code.requested.v1")
            await publish(amqp_url, bus_prefix, event)
            [announced] = await eventually(lambda: failed, seconds=30)
            doc = (await deliveries(server.app))[0]
            assert doc["status"] == "failed" and doc["failure"] == "exhausted"
            assert [a["error"] for a in doc["attempts"]] == ["HTTP 429"] * 4
            assert announced["data"]["delivery_id"] == doc["_id"]
            assert announced["data"]["event_id"] == event["id"]
            assert announced["data"]["attempts"] == 4
            assert announced["data"]["recipient"] == doc["recipient"] != "+36301234567"
            assert await eventually(lambda: parked_count(amqp_url, bus_prefix)) == 1
    finally:
        await gateway.close()


async def test_refused_recipient_is_failed_at_once_without_retries(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: SMTP 550 is permanent: one attempt, failed, announced — and not retried."""
    with SmtpServer() as smtp:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     smtp_host="127.0.0.1", smtp_port=smtp.port)
        async with (running(build, s) as server,
                    published_events(amqp_url, bus_prefix, FAILED) as failed):
            event = event_of("billing.invoice.recorded.v1", invoice_email="bounce@example.com")
            await publish(amqp_url, bus_prefix, event)
            [announced] = await eventually(lambda: failed)
            assert announced["data"]["failure"] == "permanent"
            assert announced["data"]["reason"].startswith("SMTP 550")
            doc = (await deliveries(server.app))[0]
            assert doc["status"] == "failed" and len(doc["attempts"]) == 1
            assert consumed(server.app, event["type"]) == 1
            assert smtp.mailbox.messages == []


async def test_temporarily_deferred_email_is_retried_as_transient(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: SMTP 4xx is transient: every attempt is made, then the delivery fails."""
    with SmtpServer() as smtp:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     smtp_host="127.0.0.1", smtp_port=smtp.port)
        async with running(build, s) as server:
            event = event_of("billing.invoice.recorded.v1", invoice_email="busy@example.com")
            await publish(amqp_url, bus_prefix, event)
            doc = await eventually(lambda: _failed(server.app), seconds=30)
            assert [a["error"] for a in doc["attempts"]] == ["SMTP 451 recipient deferred"] * 4


async def _failed(app):
    docs = await deliveries(app, status="failed")
    return docs[0] if docs else None


async def test_two_worker_replicas_with_every_event_delivered_twice_send_each_email_once(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """PLT-4, NOT-3: two replicas share one queue and database; every event arrives twice;
    each recipient gets exactly one email."""
    with SmtpServer() as smtp:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     smtp_host="127.0.0.1", smtp_port=smtp.port)
        async with running(build, s, "worker") as one, running(build, s, "worker") as two:
            events = [event_of("identity.password.changed.v1", email=f"user{i}@example.com")
                      for i in range(20)]
            for e in events:
                await publish(amqp_url, bus_prefix, e, e)
            total = lambda: (consumed(one.app, "identity.password.changed.v1")  # noqa: E731
                             + consumed(two.app, "identity.password.changed.v1"))
            await eventually(lambda: total() >= 40, seconds=30)
            assert sorted(m["To"] for m in smtp.mailbox.messages) == sorted(
                f"user{i}@example.com" for i in range(20))
            assert consumed(one.app, events[0]["type"]) > 0
            assert consumed(two.app, events[0]["type"]) > 0


async def test_delivery_claimed_by_a_worker_that_died_is_sent_once_its_lease_runs_out(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: a worker that claimed a delivery and died does not lose it: the redelivered
    event waits for the lease and then sends it, once."""
    with SmtpServer() as smtp:
        s = settings(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                     smtp_host="127.0.0.1", smtp_port=smtp.port, claim_seconds=1.5)
        async with running(build, s) as server:
            ctx = unit(server.app, Notifications)
            event = event_of("identity.password.changed.v1", email="carl@example.com")
            delivery_id = delivery_id_for(event["id"], "email", recipient_key("carl@example.com"))
            # What the dead worker left: the delivery, claimed until a moment from now.
            await create_delivery(ctx, Deliver(event["id"], event["type"], Outgoing(
                "password_changed", "carl@example.com", "de", values={})),
                KINDS["password_changed"], delivery_id, "carl@example.com",
                recipient_key("carl@example.com"))
            await server.app[DB]["deliveries"].update_one(
                {"_id": delivery_id}, {"$set": {"claim_until": time.time() + 1.5}})
            await publish(amqp_url, bus_prefix, event)
            await eventually(lambda: consumed(server.app, event["type"]) >= 1, seconds=20)
            assert [m["To"] for m in smtp.mailbox.messages] == ["carl@example.com"]
            doc = (await deliveries(server.app))[0]
            assert doc["status"] == "sent" and len(doc["attempts"]) == 1
