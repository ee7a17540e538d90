"""A consumer whose connection to the broker is cut comes back by itself, consumers included."""

from __future__ import annotations

import asyncio

import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.thing.happened.v1"


class Thing(EventData):
    n: int


async def test_consumer_resumes_after_connection_is_cut_and_restored_and_flags_follow(
        make_bus, proxy, amqp_url):
    received: list[int] = []

    async def handle(event, data: Thing) -> None:
        received.append(data.n)

    consumer = await make_bus("svc", url=proxy.url(amqp_url))
    consumer.subscribe([Subscription(TYPE, Thing, handle)])
    await consumer.declare_queues()
    await consumer.start_consuming()
    publisher = await make_bus("publisher")  # straight to the broker, never cut

    async def publish(n: int) -> None:
        await publisher.publish(make_event(TYPE, {"n": n}, source="test"))

    await publish(1)
    await eventually(lambda: 1 in received, message=lambda: f"event 1 consumed ({received})")
    assert consumer.connected and consumer.consuming

    for round_ in range(2):  # twice: the second reconnect must work as well as the first
        await proxy.cut()
        await eventually(lambda: not consumer.connected and not consumer.consuming,
                         message="the bus reports the lost connection")
        during = 100 + round_
        await publish(during)  # queued by the broker while the consumer is away
        await proxy.restore()
        await eventually(lambda: consumer.connected and consumer.consuming, seconds=15,
                         message="the bus reports connected and consuming again")
        after = 200 + round_
        await publish(after)
        await eventually(lambda during=during, after=after: during in received
                         and after in received, seconds=15,
                         message=lambda during=during, after=after: (
                             f"events {during} and {after} consumed ({received})"))

    assert sorted(set(received)) == [1, 100, 101, 200, 201]


async def test_consumer_is_put_back_when_the_client_library_does_not_restore_it(
        make_bus, proxy, amqp_url):
    """The bus's own safety net: a reconnect after which aio-pika has lost track of the
    consumer (its known gap with weakly held or forgotten consumers) still ends consuming."""
    received: list[int] = []

    async def handle(event, data: Thing) -> None:
        received.append(data.n)

    consumer = await make_bus("svc", url=proxy.url(amqp_url))
    consumer.subscribe([Subscription(TYPE, Thing, handle)])
    await consumer.start_consuming()
    await proxy.cut()
    await eventually(lambda: not consumer.consuming, message="consumer lost")
    # aio-pika forgets the consumer while disconnected: ``_consumers`` is the library's own
    # record of the queue's consumers (not the bus's), which it restores them from.
    consumer.queue._consumers.clear()
    await proxy.restore()
    await eventually(lambda: consumer.consuming, seconds=15, message="consuming again")

    publisher = await make_bus("publisher")
    await publisher.publish(make_event(TYPE, {"n": 7}, source="test"))
    await eventually(lambda: received == [7], message=lambda: f"event consumed ({received})")


async def test_close_returns_promptly_while_the_broker_is_unreachable(
        make_bus, proxy, amqp_url):
    consumer = await make_bus("svc", url=proxy.url(amqp_url))
    consumer.subscribe([Subscription(TYPE, Thing, lambda e, d: None)])
    await consumer.start_consuming()
    await proxy.cut()
    await eventually(lambda: not consumer.connected, message="connection lost")

    # Returns (instead of waiting for a reconnect that can not come): wait_for fails if not.
    await asyncio.wait_for(consumer.close(), 10)
    assert not consumer.connected and not consumer.consuming
    await proxy.restore()  # the closed bus does not come back
    await asyncio.sleep(0)
    assert consumer.connection is None
