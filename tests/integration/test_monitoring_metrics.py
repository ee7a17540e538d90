"""What operators read in /metrics (issue 14 part 5): every metric the alert rules and the
dashboard name is exposed by the services; consumer lag, consumers and parked messages come
from the broker; the relay's oldest unpublished event; failed logins by reason; delivery
attempts per provider and the SMS failover. Real RabbitMQ and the MongoDB wire server."""

from __future__ import annotations

import time

import aio_pika
import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.billing.app import build as build_billing
from services.billing.settings import BillingSettings
from services.contracts.app import build as build_contracts
from services.contracts.settings import ContractsSettings
from services.identity.app import build as build_identity
from services.identity.settings import IdentitySettings
from services.notifications.app import build as build_notifications
from services.notifications.settings import NotificationsSettings
from shared.app_keys import BUS
from shared.bus import Topology
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.queue_metrics import observe_queues
from shared.relay import Relay
from tests.support.gateways import SmsGateway
from tests.support.monitoring import (
    dashboard_queries,
    exposed_names,
    load_dashboard,
    load_rules,
    missing,
    rule_queries,
)
from tests.support.polling import eventually
from tests.support.services import envelope, publish, running, settings_for

pytestmark = pytest.mark.integration

SERVICES = [(build_identity, IdentitySettings), (build_billing, BillingSettings),
            (build_contracts, ContractsSettings), (build_notifications, NotificationsSettings)]


async def scrape(server) -> str:
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as r:
        assert r.status == 200
        return await r.text()


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


async def test_every_metric_an_alert_or_a_dashboard_panel_names_is_in_the_services_metrics(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    exposed: set[str] = set()
    for build, settings_type in SERVICES:
        extra = {"mail_dir": str(tmp_path / "mail"), "sms_dir": str(tmp_path / "sms")} \
            if settings_type is NotificationsSettings else {}
        s = settings_for(settings_type, mongo_url=mongo_url, amqp_url=amqp_url,
                         bus_prefix=bus_prefix, unique=unique, **extra)
        async with running(build, s) as server:
            exposed |= exposed_names(await scrape(server))
    queries = rule_queries(load_rules()) + dashboard_queries(load_dashboard())
    assert missing(queries, exposed) == []


async def test_consumer_lag_consumers_and_parked_messages_are_read_from_the_broker(
        mongo_url, amqp_url, bus_prefix, unique):
    s = settings_for(BillingSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                     bus_prefix=bus_prefix, unique=unique)
    queue = Topology(bus_prefix, "billing").queue
    async with running(build_billing, s) as server:
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            await channel.default_exchange.publish(
                aio_pika.Message(b"not json", message_id="m-1", type="made.up.type.v1"),
                routing_key=queue)
        finally:
            await connection.close()

        async def parked() -> str | None:
            text = await scrape(server)
            return text if sample(text, "bap_events_parked_total", reason="not-json") else None
        text = await eventually(parked)
        # A type the service does not consume is no label value of its own.
        assert sample(text, "bap_events_parked_total", type="other", reason="not-json") == 1
        assert "made.up" not in text

        bus = server.app[BUS]
        await observe_queues(bus)
        text = await scrape(server)
        assert sample(text, "bap_parked_messages", queue=queue) == 1
        assert sample(text, "bap_consumer_queue_messages", queue=queue) == 0
        assert sample(text, "bap_consumer_queue_consumers", queue=queue) == 1
        assert sample(text, "bap_consumer_attached", queue=queue) == 1

        await bus.stop_consuming()  # the consumer detached (as after a lost channel)
        assert sample(await scrape(server), "bap_consumer_attached", queue=queue) == 0

        async def no_consumer() -> bool:
            await observe_queues(bus)
            return sample(await scrape(server), "bap_consumer_queue_consumers",
                          queue=queue) == 0
        await eventually(no_consumer)


async def test_relay_reports_the_age_of_its_oldest_unpublished_event(db, make_bus):
    store = Aggregates(db, "meters")
    await store.apply_indexes()
    relay = Relay(await make_bus("meters", connect=False), Metrics("meters"))
    relay.watch(store)
    assert await relay.oldest_pending_age() == 0.0
    await store.create({"_id": "m-1"}, [envelope("meters.read.v1", {"value": 1})])
    await store.create({"_id": "m-2"}, [envelope("meters.read.v1", {"value": 2})])
    # m-1's event has waited two minutes (its relay could not reach the broker).
    await store.collection.update_one({"_id": "m-1"},
                                      {"$set": {"pending_since": time.time() - 120}})
    age = await relay.oldest_pending_age()
    assert 120 <= age < 180
    assert await relay.backlog() == 2
    await store.collection.update_many({}, {"$set": {"has_pending": False}})
    assert await relay.oldest_pending_age() == 0.0


async def test_failed_logins_are_counted_by_method_and_reason(mongo_url, amqp_url, bus_prefix,
                                                              unique):
    s = settings_for(IdentitySettings, mongo_url=mongo_url, amqp_url=amqp_url,
                     bus_prefix=bus_prefix, unique=unique)
    async with running(build_identity, s, role="api") as server:
        async with aiohttp.ClientSession() as http, http.post(
                server.make_url("/v1/sessions"), json={"login": f"nobody-{unique}@example.com",
                                                       "password": "Sicher!Pass42"}) as r:
            assert r.status == 401
        text = await scrape(server)
        assert sample(text, "bap_login_failures_total", method="password",
                      reason="unknown-login") == 1
        assert unique not in text  # never the login id


async def test_sms_failover_is_counted_per_provider_and_shows_the_secondary_in_charge(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    primary = await SmsGateway(fail_first=1000).start()
    secondary = await SmsGateway().start()
    try:
        s = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                         bus_prefix=bus_prefix, unique=unique, mail_dir=str(tmp_path / "mail"),
                         portal_base_url="https://portal.test", sms_gateway_url=primary.url,
                         sms_gateway_secondary_url=secondary.url, failover_after_failures=2,
                         failover_cooldown_seconds=600)
        async with running(build_notifications, s) as server:
            text = await scrape(server)
            assert sample(text, "bap_notification_secondary_provider_active",
                          channel="sms") == 0
            await publish(amqp_url, bus_prefix, envelope(
                "identity.login_code.requested.v1", login_code(unique)))
            await secondary.wait_for(1)

            async def counted() -> str | None:
                text = await scrape(server)
                return text if sample(text, "bap_notification_delivery_attempts_total",
                                      provider="sms-gateway-secondary") else None
            text = await eventually(counted)
            attempts = {(smp.labels["provider"], smp.labels["outcome"]): smp.value
                        for f in text_string_to_metric_families(text) for smp in f.samples
                        if smp.name == "bap_notification_delivery_attempts_total"
                        and smp.labels["channel"] == "sms"}
            assert attempts == {("sms-gateway", "transient"): 2,
                                ("sms-gateway-secondary", "sent"): 1}
            assert sample(text, "bap_notification_failovers_total", channel="sms") == 1
            assert sample(text, "bap_notification_secondary_provider_active",
                          channel="sms") == 1
            assert sample(text, "bap_notification_secondary_provider_active",
                          channel="email") == 0
    finally:
        await primary.close()
        await secondary.close()


def login_code(unique: str) -> dict:
    from scripts import catalogue
    example = {e.type: e.example for e in catalogue.published()}
    return {**example["identity.login_code.requested.v1"], "code": "100001"}
