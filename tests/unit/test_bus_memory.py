"""The in-memory event bus (``shared.bus.InMemoryBus``): what a consumer test relies on, with
the RabbitMQ bus's semantics (same decoding, same parking reasons and headers, retries then
parking), and no broker."""

from __future__ import annotations

import json

import pytest

from shared.bus import EventBus, InMemoryBus, Subscription
from shared.errors import PermanentEventError
from shared.events import CloudEvent, EventData, make_event

pytestmark = pytest.mark.unit

TYPE = "test.order.placed.v1"
OTHER = "test.order.shipped.v1"


class Placed(EventData):
    order: str
    amount: int


def placed(order: str = "o-1", amount: int = 3, **overrides) -> dict:
    e = make_event(TYPE, {"order": order, "amount": amount}, source="test")
    e.update(overrides)
    return e


def parked_total(bus: InMemoryBus, etype: str, reason: str) -> float | None:
    return bus.metrics.registry.get_sample_value(
        "bap_events_parked_total", {"type": etype, "reason": reason})


def test_the_in_memory_bus_is_an_event_bus() -> None:
    bus: EventBus = InMemoryBus()  # checked by the type checker: the protocol holds
    assert bus.connected and not bus.consuming


async def test_published_events_go_to_their_subscribers_with_typed_data(memory_bus) -> None:
    got: list[tuple[str, Placed]] = []

    async def handle(event: CloudEvent, data: Placed) -> None:
        got.append((event.id, data))

    memory_bus.subscribe([Subscription(TYPE, Placed, handle)])
    first, second = placed("o-1"), placed("o-2", 5)
    await memory_bus.publish(first)
    await memory_bus.publish(second)
    assert memory_bus.published == [first, second] and memory_bus.pending == 2
    assert got == []  # nothing runs until the test says so

    assert await memory_bus.deliver_all() == 2
    assert [(i, d.order, d.amount) for i, d in got] == [
        (first["id"], "o-1", 3), (second["id"], "o-2", 5)]
    assert all(isinstance(d, Placed) for _, d in got)
    assert [e.id for e in memory_bus.handled] == [first["id"], second["id"]]
    assert memory_bus.parked == [] and memory_bus.pending == 0
    assert memory_bus.metrics.registry.get_sample_value(
        "bap_events_consumed_total", {"type": TYPE, "outcome": "ok"}) == 2
    assert memory_bus.metrics.registry.get_sample_value(
        "bap_events_published_total", {"type": TYPE}) == 2


async def test_events_of_types_not_subscribed_are_kept_but_not_delivered(memory_bus) -> None:
    memory_bus.subscribe([Subscription(TYPE, Placed, _nothing)])
    shipped = make_event(OTHER, {"order": "o-1"}, source="test")
    await memory_bus.publish(shipped)
    assert memory_bus.published_of(OTHER) == [shipped] and memory_bus.published_of(TYPE) == []
    assert await memory_bus.deliver_all() == 0


async def test_events_a_handler_publishes_are_delivered_in_the_same_round(memory_bus) -> None:
    shipped: list[str] = []

    async def place(event: CloudEvent, data: Placed) -> None:
        await memory_bus.publish(make_event(OTHER, {"order": data.order}, source="test"))

    async def ship(event: CloudEvent, data: Shipped) -> None:
        shipped.append(data.order)

    memory_bus.subscribe([Subscription(TYPE, Placed, place), Subscription(OTHER, Shipped, ship)])
    await memory_bus.publish(placed("o-9"))
    assert await memory_bus.deliver_all() == 2
    assert shipped == ["o-9"]


class Shipped(EventData):
    order: str


# name -> (body, reason, words the detail must contain): as the RabbitMQ bus parks them.
MALFORMED = {
    "not-json": (b"{this is not json", "not-json", ["Expecting"]),
    "not-utf8": (b"\xff\xfe\x00garbage", "not-json", []),
    "deeply-nested": (b"[" * 100_000, "not-json", ["nested deeper"]),
    "json-array": (b'[{"specversion": "1.0"}]', "not-an-envelope", ["not an object"]),
    "unknown-type": (json.dumps(placed(type=OTHER)).encode(), "unknown-type", [OTHER]),
    "wrong-data-type": (json.dumps(placed(data={"order": "o-1", "amount": "three"})).encode(),
                        "invalid-data", ["amount", "int_parsing"]),
    "wrong-specversion": (json.dumps(placed(specversion="0.3")).encode(),
                          "invalid-envelope", ["specversion", "literal_error"]),
    "too-large": (json.dumps(placed(data={"order": "o", "amount": 1, "pad": "x" * 2_000_000}))
                  .encode(), "too-large", ["bytes", "1048576"]),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_deliveries_are_parked_at_once_with_their_reason(memory_bus,
                                                                         name) -> None:
    body, reason, words = MALFORMED[name]
    handled: list[str] = []

    async def handle(event: CloudEvent, data: Placed) -> None:
        handled.append(event.id)

    memory_bus.subscribe([Subscription(TYPE, Placed, handle)])
    memory_bus.deliver(body, type=TYPE)
    assert await memory_bus.deliver_all() == 1
    [parked] = memory_bus.parked
    assert parked.body == body and parked.reason == reason and parked.attempts == 0
    for word in words:
        assert word in parked.detail
    assert parked.headers["x-park-reason"] == reason
    assert parked.headers["x-park-attempts"] == 0 and parked.headers["x-parked-by"] == "svc"
    assert parked.headers["x-original-routing-key"] == TYPE
    assert handled == [] and memory_bus.retries == []


async def test_a_claimed_type_not_consumed_is_counted_as_other(memory_bus) -> None:
    memory_bus.subscribe([Subscription(TYPE, Placed, _nothing)])
    memory_bus.deliver(placed(type=OTHER))
    await memory_bus.deliver_all()
    assert parked_total(memory_bus, "other", "unknown-type") == 1
    memory_bus.deliver(placed(data={"amount": 1}))
    await memory_bus.deliver_all()
    assert parked_total(memory_bus, TYPE, "invalid-data") == 1


async def test_a_permanent_error_parks_the_event_as_rejected_without_retries(memory_bus) -> None:
    async def refuse(event: CloudEvent, data: Placed) -> None:
        raise PermanentEventError("no such order")

    memory_bus.subscribe([Subscription(TYPE, Placed, refuse)])
    event = placed()
    await memory_bus.publish(event)
    assert await memory_bus.deliver_all() == 1
    [parked] = memory_bus.parked
    assert (parked.reason, parked.detail, parked.attempts) == ("rejected", "no such order", 0)
    assert parked.envelope == event
    assert memory_bus.retries == [] and parked_total(memory_bus, TYPE, "rejected") == 1


async def test_a_failing_handler_is_retried_then_parked_as_handler_failed(memory_bus) -> None:
    calls: list[str] = []

    async def broken(event: CloudEvent, data: Placed) -> None:
        calls.append(event.id)
        raise RuntimeError("database away")

    memory_bus.subscribe([Subscription(TYPE, Placed, broken)])
    await memory_bus.publish(placed())
    tries = len(memory_bus.retry_delays) + 1
    assert await memory_bus.deliver_all() == tries
    assert len(calls) == tries
    assert [r.delay for r in memory_bus.retries] == memory_bus.retry_delays
    assert [r.attempts for r in memory_bus.retries] == list(range(1, tries))
    [parked] = memory_bus.parked
    assert parked.reason == "handler-failed" and parked.attempts == tries
    assert parked.detail == "RuntimeError: database away"
    assert parked.headers["x-attempts"] == tries - 1
    assert parked.headers["x-last-error"] == "RuntimeError: database away"
    assert memory_bus.metrics.registry.get_sample_value(
        "bap_events_retried_total", {"type": TYPE}) == tries - 1


async def test_a_handler_failing_once_succeeds_on_the_retry(memory_bus) -> None:
    calls: list[int] = []

    async def flaky(event: CloudEvent, data: Placed) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("blip")

    memory_bus.subscribe([Subscription(TYPE, Placed, flaky)])
    await memory_bus.publish(placed())
    assert await memory_bus.deliver_all() == 2
    assert len(memory_bus.handled) == 1 and memory_bus.parked == []


async def test_after_stop_consuming_nothing_is_delivered_and_nothing_is_lost(memory_bus) -> None:
    memory_bus.subscribe([Subscription(TYPE, Placed, _nothing)])
    await memory_bus.start_consuming()
    assert memory_bus.consuming
    await memory_bus.publish(placed())
    await memory_bus.drain(1.0)
    assert not memory_bus.consuming
    assert await memory_bus.deliver_all() == 0 and memory_bus.pending == 1
    await memory_bus.start_consuming()
    assert await memory_bus.deliver_all() == 1


async def test_publishing_while_the_broker_is_away_raises(memory_bus) -> None:
    memory_bus.unavailable = True
    assert not memory_bus.connected
    with pytest.raises(ConnectionError):
        await memory_bus.publish(placed())
    assert memory_bus.published == []
    memory_bus.unavailable = False
    await memory_bus.publish(placed())
    await memory_bus.close()
    with pytest.raises(ConnectionError):
        await memory_bus.publish(placed())


def test_a_type_subscribed_twice_is_refused(memory_bus) -> None:
    memory_bus.subscribe([Subscription(TYPE, Placed, _nothing)])
    with pytest.raises(ValueError, match="subscribed twice"):
        memory_bus.subscribe([Subscription(TYPE, Placed, _nothing)])


async def test_events_that_keep_causing_events_stop_at_the_limit(memory_bus) -> None:
    async def again(event: CloudEvent, data: Placed) -> None:
        await memory_bus.publish(placed())

    memory_bus.subscribe([Subscription(TYPE, Placed, again)])
    await memory_bus.publish(placed())
    with pytest.raises(RuntimeError, match="more than 50 deliveries"):
        await memory_bus.deliver_all(limit=50)


async def _nothing(event: CloudEvent, data: Placed) -> None:
    return None
