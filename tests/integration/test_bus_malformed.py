"""Messages that can never be processed are parked at once, with a reason, without retries."""

from __future__ import annotations

import json

import aio_pika
import pytest
from structlog.testing import capture_logs

from shared.bus import PARKING_ARGUMENTS, Subscription
from shared.events import EventData, make_event
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.order.placed.v1"
# What the bus logs when a message's retry or parking copy was not confirmed.
NOT_SETTLED = "event could not be settled; returning it to the queue"


class Placed(EventData):
    order: str
    amount: int


def envelope(**overrides):
    e = make_event(TYPE, {"order": "o-1", "amount": 3}, source="test", event_id="evt-1")
    e.update(overrides)
    return e


def without(*fields):
    e = envelope()
    for f in fields:
        del e[f]
    return e


# name -> (body, reason, words the detail must contain)
MALFORMED = {
    "not-json": (b"{this is not json", "not-json", ["Expecting"]),
    "not-utf8": (b"\xff\xfe\x00garbage", "not-json", []),
    "empty": (b"", "not-json", ["Expecting value"]),
    "deeply-nested-array": (b"[" * 100_000, "not-json", ["nested deeper"]),
    "deeply-nested-object": (b'{"a":' * 100_000, "not-json", ["nested deeper"]),
    "json-array": (b'[{"specversion": "1.0"}]', "not-an-envelope", ["not an object"]),
    "json-string": (b'"hello"', "not-an-envelope", ["not an object"]),
    "unknown-type": (json.dumps(envelope(type="test.order.cancelled.v1")).encode(),
                     "unknown-type", ["test.order.cancelled.v1"]),
    "wrong-data-type": (json.dumps(envelope(data={"order": "o-1", "amount": "three"})).encode(),
                        "invalid-data", ["amount", "int_parsing"]),
    "missing-data-field": (json.dumps(envelope(data={"amount": 3})).encode(),
                           "invalid-data", ["order", "missing"]),
    "missing-envelope-fields": (json.dumps(without("id", "source", "time")).encode(),
                                "invalid-envelope", ["id: missing", "source: missing",
                                                     "time: missing"]),
    "wrong-specversion": (json.dumps(envelope(specversion="0.3")).encode(),
                          "invalid-envelope", ["specversion", "literal_error"]),
    "too-large": (json.dumps(envelope(data={"order": "o-1", "amount": 3,
                                            "pad": "x" * 2_000_000})).encode(),
                  "too-large", ["bytes", "1048576"]),
}


def refused(logs: list[dict]) -> list[dict]:
    """The log entries of parkings (or retries) the broker did not confirm."""
    return [e for e in logs if e["event"] == NOT_SETTLED]


async def publish_raw(bus, body: bytes, message_id: str) -> None:
    """Straight into the service's queue, the way a broken publisher would put it there."""
    channel = await bus.connection.channel()
    try:
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id, type=TYPE,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=bus.topology.queue)
    finally:
        await channel.close()


async def test_malformed_messages_are_parked_at_once_with_reason_and_consumer_goes_on(
        make_bus, amqp, get_all, queue_depth, consumed_ok):
    handled: list[str] = []

    async def handle(event, data: Placed) -> None:
        handled.append(event.id)

    bus = await make_bus("orders", retry_delays=[0.1, 0.2])
    bus.subscribe([Subscription(TYPE, Placed, handle)])
    await bus.start_consuming()

    for name, (body, _, _) in MALFORMED.items():
        await publish_raw(bus, body, message_id=name)
    good = envelope(id="evt-good")
    await bus.publish(good)

    await eventually(lambda: handled == ["evt-good"], message=lambda: f"good event ({handled})")
    await eventually(lambda: consumed_ok(bus, TYPE) == 1, message="good event acknowledged")
    await eventually(lambda: queue_depth(amqp, bus.topology.parked),
                     message="parked messages")
    await eventually(lambda: bus.metrics.registry.get_sample_value(
        "bap_events_retried_total", {"type": TYPE}) is None and sum(
        s.value for m in bus.metrics.events_parked.collect() for s in m.samples
        if s.name == "bap_events_parked_total") == len(MALFORMED),
        message="every malformed message counted as parked, none retried")

    parked = {m.message_id: m for m in await get_all(amqp, bus.topology.parked)}
    assert sorted(parked) == sorted(MALFORMED)
    for name, (body, reason, words) in MALFORMED.items():
        message = parked[name]
        headers = message.headers
        assert headers["x-park-reason"] == reason, name
        assert headers["x-park-attempts"] == 0, name
        # Parked on its first delivery: never handed back to the queue before.
        assert headers.get("x-delivery-count", 0) == 0, (name, headers.get("x-delivery-count"))
        for word in words:
            assert word in headers["x-park-detail"], (name, headers["x-park-detail"])
        assert message.body == body, name  # kept as it came, for an operator to look at
    for name in (bus.topology.queue, *(bus.topology.retry(d) for d in bus.retry_delays)):
        assert await queue_depth(amqp, name) == 0, name
    assert handled == ["evt-good"]


async def test_message_whose_parking_copy_is_not_accepted_is_returned_not_acked_away(
        make_bus, amqp, get_all, queue_depth):
    """Parking publishes a copy first and acks the original only once the broker took it;
    with the parking queue gone, the original goes back to the queue and waits."""
    bus = await make_bus("orders")
    bus.subscribe([Subscription(TYPE, Placed, lambda e, d: None)])
    await bus.declare_queues()
    t = bus.topology
    channel = await amqp.channel()
    await channel.queue_delete(t.parked)  # an operator's mistake
    # Refused parkings, as the bus reports them to the operator: each one is logged and the
    # message given back to the broker, which delivers it again.
    with capture_logs() as logs:
        await bus.start_consuming()
        await publish_raw(bus, b"not json", message_id="orphan")
        # A second refusal means the broker delivered it again: it was not acked after the
        # first.
        await eventually(lambda: len(refused(logs)) >= 2, seconds=10,
                         message=lambda: f"parking refused twice ({refused(logs)})")
    assert bus.metrics.registry.get_sample_value(
        "bap_events_parked_total", {"type": TYPE, "reason": "not-json"}) is None

    parked = await channel.declare_queue(t.parked, durable=True, arguments=PARKING_ARGUMENTS)
    await parked.bind(t.dead_exchange, routing_key=t.queue)
    await channel.close()
    await eventually(lambda: queue_depth(amqp, t.parked), seconds=10,
                     message="parked once the parking queue is back")
    [message] = await get_all(amqp, t.parked)
    assert message.message_id == "orphan"
    assert message.headers["x-park-reason"] == "not-json"
    # Two refused parkings, then the one that worked: the broker delivered it a third time.
    assert len(refused(logs)) >= 2
    assert message.headers["x-delivery-count"] >= 2
