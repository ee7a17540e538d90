"""An event saved while the broker is unreachable is published once it is back."""

from __future__ import annotations

import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.relay import Relay
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.order.placed.v1"


class Placed(EventData):
    order: str


async def test_event_saved_while_broker_unreachable_is_published_when_it_is_back(
        make_bus, proxy, amqp_url, db):
    received: list[str] = []

    async def handle(event, data: Placed) -> None:
        received.append(data.order)

    consumer = await make_bus("shipping")  # straight to the broker
    consumer.subscribe([Subscription(TYPE, Placed, handle)])
    await consumer.start_consuming()

    relay_bus = await make_bus("orders", url=proxy.url(amqp_url))  # through the proxy
    attempts: list[str] = []  # every publication the relay tries (observed, not replaced)
    real_publish = relay_bus.publish

    async def publish(envelope):
        attempts.append(envelope["data"]["order"])
        await real_publish(envelope)

    relay_bus.publish = publish
    relay = Relay(relay_bus, Metrics("orders"), poll_seconds=0.2, lease_seconds=5)
    orders = Aggregates(db, "orders", on_events=relay.wake)
    await orders.apply_indexes()
    relay.watch(orders)
    await relay.start()
    try:
        async def place(order: str) -> None:
            await orders.create({"_id": order, "status": "placed"},
                                [make_event(TYPE, {"order": order}, source="orders",
                                            subject=order)])

        await place("o-before")
        await eventually(lambda: received == ["o-before"], message="the first event consumed")

        await proxy.cut()
        await eventually(lambda: not relay_bus.connected, message="the relay's bus disconnected")
        await place("o-during")
        await eventually(lambda: attempts.count("o-during") >= 3, seconds=10,
                         message=lambda: f"the relay trying again ({attempts})")
        doc = await orders.get({"_id": "o-during"})
        assert doc["has_pending"] and len(doc["pending_events"]) == 1
        assert await relay.backlog() == 1
        assert received == ["o-before"]
        assert relay.running

        await proxy.restore()
        await eventually(lambda: "o-during" in received, seconds=15,
                         message="the event saved during the outage consumed")
        await eventually(lambda: _no_backlog(relay), message="the relay's backlog empty")
        doc = await orders.get({"_id": "o-during"})
        assert not doc["has_pending"] and doc["pending_events"] == []
        assert received == ["o-before", "o-during"]
    finally:
        await relay.stop()


async def _no_backlog(relay: Relay) -> bool:
    return await relay.backlog() == 0
