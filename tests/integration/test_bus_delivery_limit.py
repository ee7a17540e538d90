"""A message that takes its consumer down every time is dead-lettered to the parking queue once
the quorum queue's delivery limit is spent (the handler never gets to park it itself)."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.report.requested.v1"
LIMIT = 2


class Requested(EventData):
    report: str


async def test_poison_message_crashing_consumer_is_dead_lettered_to_parked_past_delivery_limit(
        make_bus, proxy, amqp_url, amqp, get_all, queue_depth):
    deliveries: list[str] = []
    release = asyncio.Event()

    async def handle(event, data: Requested) -> None:
        deliveries.append(event.id)
        await release.wait()  # never returns while the "process" is alive

    consumer = await make_bus("reports", url=proxy.url(amqp_url), delivery_limit=LIMIT)
    consumer.subscribe([Subscription(TYPE, Requested, handle)])
    await consumer.start_consuming()
    poison = make_event(TYPE, {"report": "huge"}, source="test")
    await consumer.publish(poison)

    try:
        # Each "crash" (the connection dies while the handler runs) returns the message to
        # the queue; after LIMIT returns the broker dead-letters it instead of redelivering.
        for n in range(1, LIMIT + 2):
            await eventually(lambda n=n: len(deliveries) == n, seconds=15,
                             message=lambda n=n: f"delivery {n} ({len(deliveries)} so far)")
            await proxy.cut()
            await eventually(lambda: not consumer.connected, message="connection lost")
            await proxy.restore()
            await eventually(lambda: consumer.consuming, seconds=15, message="consuming again")

        await eventually(lambda: queue_depth(amqp, consumer.topology.parked), seconds=10,
                         message="the message dead-lettered to the parking queue")
    finally:
        release.set()

    [parked] = await get_all(amqp, consumer.topology.parked)
    assert parked.message_id == poison["id"]
    assert parked.headers["x-first-death-reason"] == "delivery_limit"
    assert parked.headers["x-first-death-queue"] == consumer.topology.queue
    assert deliveries == [poison["id"]] * (LIMIT + 1)
    assert await queue_depth(amqp, consumer.topology.queue) == 0


async def test_service_queue_is_quorum_with_delivery_limit_and_dead_letter_exchange(
        make_bus, amqp, get_all, queue_depth):
    bus = await make_bus("svc", delivery_limit=7)
    await bus.declare_queues()
    t = bus.topology
    expected = {"x-queue-type": "quorum", "x-delivery-limit": 7,
                "x-dead-letter-exchange": t.dead_exchange, "x-dead-letter-routing-key": t.queue}

    channel = await amqp.channel()
    await channel.declare_queue(t.queue, durable=True, arguments=expected)  # same: accepted
    for key, other in (("x-delivery-limit", 8), ("x-dead-letter-exchange", "elsewhere")):
        channel = await amqp.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await channel.declare_queue(t.queue, durable=True,
                                        arguments={**expected, key: other})
    # ...and the dead-letter exchange routes the service's key to its parking queue.
    channel = await amqp.channel()
    dead = await channel.get_exchange(t.dead_exchange)
    await dead.publish(aio_pika.Message(b"probe", message_id="probe"), routing_key=t.queue)
    await channel.close()
    await eventually(lambda: queue_depth(amqp, t.parked), message="probe in the parking queue")
    assert [m.message_id for m in await get_all(amqp, t.parked)] == ["probe"]
