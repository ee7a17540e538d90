"""The RabbitMQ implementation of ``EventBus``: one topic exchange, a quorum queue per
service, retries with back-off through delay queues, and a parking queue that keeps each failed
message with the reason (the names and arguments: ``shared.bus.topology``).

Consumers dispatch on the envelope's ``type``, not on the routing key, so retried and
replayed messages (which travel through the default exchange) are handled the same way.
Decoding and the fate of a failed delivery are the bus-independent ``shared.bus.delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from shared import queue_metrics, tracing
from shared.bus.delivery import (
    Park,
    Retry,
    after_failure,
    attempts_of,
    decode,
    handling,
    park_headers,
    retry_headers,
    subscribe,
    type_label,
)
from shared.bus.protocol import Subscription
from shared.bus.topology import (
    CLOSE_TIMEOUT,
    PARKING_ARGUMENTS,
    PUBLISH_TIMEOUT,
    Topology,
    retry_queue_arguments,
    service_queue_arguments,
)
from shared.logging import get_logger
from shared.metrics import Metrics

log = get_logger("bus")


class Bus:
    """A service's connection to the broker: publishing with confirms and consuming its queue."""

    def __init__(self, url: str, topology: Topology, metrics: Metrics, *, prefetch: int = 128,
                 delivery_limit: int = 10, retry_delays: list[float] | None = None,
                 max_event_bytes: int = 1_048_576,
                 queue_metrics_interval: float | None = None) -> None:
        self.url = url
        self.topology = topology
        self.metrics = metrics
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_delays = list(retry_delays if retry_delays is not None else [1, 5, 30])
        self.max_event_bytes = max_event_bytes
        self.subscriptions: dict[str, Subscription[Any]] = {}
        # Consumer lag and parked messages in the metrics, read every this many seconds while
        # consuming (``shared.queue_metrics``); None: not read.
        self._queue_metrics = (queue_metrics.QueueMetrics(self, queue_metrics_interval)
                               if queue_metrics_interval is not None else None)
        # Strong references: aio-pika restores only what is still referenced after a reconnect.
        self.connection: AbstractRobustConnection | None = None
        self._publish_channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._exchange: aio_pika.abc.AbstractRobustExchange | None = None
        # Retry and parking copies go through a channel that raises when the broker can not
        # route them (a missing queue), so the original is never acked after a lost copy.
        self._control_channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._consume_channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._queue: aio_pika.abc.AbstractRobustQueue | None = None
        self._consumer_tag: str | None = None
        # The low-level channel our consumer was last seen on: ``consuming`` is true only while
        # that channel is open and still carries the consumer (refreshed after every reopen).
        self._consumer_channel: Any = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        # Set by ``stop_consuming``: from then on a delivery is handed back, not handled.
        self._stopping_since: float | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect (retrying until the broker answers) and declare the exchanges."""
        self.connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.topology.queue},
            reconnect_interval=1.0)
        self._publish_channel = await self.connection.channel(publisher_confirms=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await self._publish_channel.declare_exchange(
            self.topology.dead_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        self._control_channel = await self.connection.channel(publisher_confirms=True,
                                                              on_return_raises=True)
        # After a reconnect aio-pika re-declares what it still references and consumes again;
        # check that the consumer really is back (and put it back if it is not).
        self.connection.reconnect_callbacks.add(self._on_reconnect)

    async def stop_consuming(self) -> None:
        """Take no new deliveries (the first step of a shutdown); the handlers running go on.

        Cancels the consumer, within ``CLOSE_TIMEOUT`` and only while connected. A delivery
        the broker sent before it saw the cancel is handed back at once (``_on_message``).
        """
        if self._stopping_since is None:
            self._stopping_since = time.monotonic()
        tag, self._consumer_tag = self._consumer_tag, None
        self._consumer_channel = None
        if self._queue is not None and tag is not None:
            if self.connected:
                with contextlib.suppress(Exception):  # the connection may go at any moment
                    await asyncio.wait_for(self._queue.cancel(tag), CLOSE_TIMEOUT)
            else:
                # Not restored on a reconnect either: forget it without asking the broker.
                getattr(self._queue, "_consumers", {}).pop(tag, None)

    async def drain(self, grace: float) -> None:
        """Wait until the handlers running have settled their messages, at most ``grace``
        seconds after ``stop_consuming``; then cancel the rest, whose messages are requeued."""
        if self._queue_metrics is not None:
            await self._queue_metrics.stop()
        await self.stop_consuming()
        deadline = (self._stopping_since or time.monotonic()) + grace
        await asyncio.sleep(0)  # handlers of the last deliveries register themselves first
        while self._in_flight and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._in_flight), timeout=left)
            await asyncio.sleep(0)
        if self._in_flight:
            log.warning("shutdown grace period over; cancelling the handlers still running, "
                        "their events go back to the queue", handlers=len(self._in_flight),
                        grace_s=grace)
            for task in self._in_flight:
                task.cancel()
            await asyncio.wait(set(self._in_flight), timeout=CLOSE_TIMEOUT)

    async def close(self, grace: float = 10.0) -> None:
        """Stop consuming, let the handlers running finish (see ``drain``), and close the
        connection.

        Never hangs on a broker that is away: the broker requeues whatever was not acked.
        """
        await self.drain(grace)
        if self.connection is not None:
            connection, self.connection = self.connection, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT)

    @property
    def connected(self) -> bool:
        c = self.connection
        return c is not None and not c.is_closed and c.connected.is_set()

    @property
    def consuming(self) -> bool:
        """Connected, and the consumer is attached on the channel that is open now."""
        ch, low = self._consume_channel, self._consumer_channel
        return (self._consumer_tag is not None and ch is not None and not ch.is_closed
                and low is not None and not low.is_closed
                and self._consumer_tag in low.consumers and self.connected)

    @property
    def queue(self) -> aio_pika.abc.AbstractRobustQueue | None:
        """The service's queue as aio-pika holds it (None until ``declare_queues``)."""
        return self._queue

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, envelope: dict[str, Any]) -> None:
        """Publish one event and wait for the broker's confirm (raises if it is not given)."""
        if self._exchange is None:
            raise RuntimeError("bus is not connected")
        if not self.connected:
            raise ConnectionError("the broker is not reachable right now")
        headers: dict[str, Any] = {"x-attempts": 0}
        # Continues the trace the event was created in; the hop goes into the headers.
        with tracing.publishing(envelope, self.topology.exchange, headers):
            message = aio_pika.Message(
                json.dumps(envelope, separators=(",", ":")).encode(),
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=envelope["id"],
                correlation_id=envelope.get("correlationid"),
                type=envelope["type"],
                headers=headers,
            )
            # Bounded as a whole: a robust channel may otherwise wait for a reconnect. (A
            # timeout scope, not ``wait_for``: no task of its own for every publish.)
            async with asyncio.timeout(PUBLISH_TIMEOUT + 1):
                await self._exchange.publish(message, routing_key=envelope["type"],
                                             timeout=PUBLISH_TIMEOUT)
        self.metrics.events_published.labels(envelope["type"]).inc()

    # -- consuming -------------------------------------------------------------------------
    def subscribe(self, subscriptions: Sequence[Subscription[Any]]) -> None:
        subscribe(self.subscriptions, subscriptions)

    async def declare_queues(self) -> None:
        """Declare the service's queue, its delay and parking queues, and every binding."""
        assert self.connection is not None
        t = self.topology
        channel = self._consume_channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        # A channel closed by the broker alone (no reconnect) is reopened by aio-pika.
        channel.reopen_callbacks.add(self._on_reopen)
        exchange = await channel.declare_exchange(t.exchange, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        await channel.declare_exchange(t.dead_exchange, aio_pika.ExchangeType.DIRECT,
                                       durable=True)
        self._queue = await channel.declare_queue(
            t.queue, durable=True, arguments=service_queue_arguments(t, self.delivery_limit))
        await self._declare_parking_queue()
        for delay in self.retry_delays:
            await channel.declare_queue(t.retry(delay), durable=True,
                                        arguments=retry_queue_arguments(t, delay))
        for etype in self.subscriptions:
            await self._queue.bind(exchange, routing_key=etype)

    async def _declare_parking_queue(self) -> None:
        """The parking queue: a durable classic queue, bound to the dead-letter exchange.

        Classic, not quorum: a classic queue has no delivery count, so the operator command,
        which reads by fetching and handing messages back, never spends a delivery attempt
        (RabbitMQ 4 gives quorum queues a delivery limit of 20 by default, and RabbitMQ 3.10
        drops at once what a quorum queue with ``x-delivery-limit: -1`` hands back). Declared
        on a channel of its own: a parking queue left from an older release as a quorum queue
        is refused (PRECONDITION_FAILED); it is then used as it is, with a warning, until an
        operator migrates it (README, "Parking queue").
        """
        assert self.connection is not None
        t = self.topology
        channel = await self.connection.channel()
        try:
            try:
                parked = await channel.declare_queue(t.parked, durable=True, robust=False,
                                                     arguments=PARKING_ARGUMENTS)
            except aio_pika.exceptions.ChannelPreconditionFailed as e:
                log.warning("the parking queue was declared by an older release (quorum); "
                            "listing it counts delivery attempts: migrate it",
                            queue=t.parked, error=str(e)[:300])
                with contextlib.suppress(Exception):
                    await channel.close()
                channel = await self.connection.channel()
                parked = await channel.declare_queue(t.parked, passive=True, robust=False)
            await parked.bind(t.dead_exchange, routing_key=t.queue, robust=False)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def start_consuming(self) -> None:
        if self._queue is None:
            await self.declare_queues()
        assert self._queue is not None
        self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)
        await self._check_consumer()
        # Only consuming processes report the consumer (API processes have none to lose).
        self.metrics.consumer_attached.labels(self.topology.queue).set_function(
            lambda: 1 if self.consuming else 0)
        if self._queue_metrics is not None:
            self._queue_metrics.start()

    async def _on_reconnect(self, _connection: Any) -> None:
        await self._check_consumer()

    async def _on_reopen(self, _channel: Any) -> None:
        await self._check_consumer()

    async def _check_consumer(self) -> None:
        """Make sure the consumer is attached to the consuming channel as it is now.

        aio-pika restores consumers of queues it still holds; this is the safety net for the
        cases it misses (the consumer is consumed again under the same tag).
        """
        tag, queue, channel = self._consumer_tag, self._queue, self._consume_channel
        if tag is None or queue is None or channel is None:
            return
        try:
            # aiormq's channel: its ``consumers`` are not part of the abstract type.
            low: Any = await asyncio.wait_for(channel.get_underlay_channel(), PUBLISH_TIMEOUT)
            if tag not in low.consumers:
                log.warning("consumer missing after reconnect; consuming again")
                await queue.consume(self._on_message, no_ack=False, consumer_tag=tag,
                                    timeout=PUBLISH_TIMEOUT)
            self._consumer_channel = low
        except Exception as e:  # the connection went again: the next reconnect checks again
            log.warning("could not check the consumer", error=f"{type(e).__name__}: {e}"[:300])

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._stopping_since is not None:
            # Sent before the broker saw our cancel: another replica takes it now.
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._process(message)
        except asyncio.CancelledError:
            # Cancelled when the shutdown grace period ran out: back to the queue at once.
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            raise
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # Retry or parking copy not confirmed, or the ack itself failed. If the channel is
            # still open, give the message back (after a pause, not in a hot loop); the queue's
            # delivery limit dead-letters it to the parking queue if this keeps happening.
            # The pause is no retry of ours (the broker redelivers), so no stamina here.
            log.error("event could not be settled; returning it to the queue",
                      error=f"{type(e).__name__}: {e}"[:500])
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        attempts = attempts_of(message.headers)
        etype = message.type or "unknown"
        try:
            decoded = decode(message.body, self.subscriptions, max_bytes=self.max_event_bytes,
                             service=self.topology.service)
        except Park as p:
            # Metrics name the type the envelope claims when it can be read at all (a type
            # the service consumes; any other is counted as "other").
            await self._park(message, (p.event_type or etype)[:100], p.reason, p.detail,
                             attempts)
            return
        event = decoded.event
        etype = event.type
        with handling(event, message.headers, self.topology.queue):
            try:
                await decoded.subscription.handler(event, decoded.data)
            except Exception as e:
                outcome = after_failure(e, attempts, self.retry_delays)
                if isinstance(outcome, Retry):
                    await self._retry(message, etype, outcome)
                else:
                    await self._park(message, etype, outcome.reason, outcome.detail,
                                     outcome.attempts)
                return
            await message.ack()
            self.metrics.events_consumed.labels(etype, "ok").inc()

    async def _retry(self, message: AbstractIncomingMessage, etype: str, retry: Retry) -> None:
        await self._send_to(self.topology.retry(retry.delay), message, retry_headers(retry))
        await message.ack()
        self.metrics.events_retried.labels(etype).inc()

    async def _park(self, message: AbstractIncomingMessage, etype: str, reason: str,
                    detail: str, attempts: int) -> None:
        await self._send_to(self.topology.parked, message, park_headers(
            reason, detail, attempts, self.topology.service, message.routing_key or ""))
        await message.ack()
        self.metrics.events_parked.labels(type_label(etype, self.subscriptions), reason).inc()

    async def _send_to(self, queue_name: str, message: AbstractIncomingMessage,
                       headers: dict[str, Any]) -> None:
        assert self._control_channel is not None
        await self._control_channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                type=message.type,
                headers={**(message.headers or {}), **headers},
            ),
            routing_key=queue_name, timeout=PUBLISH_TIMEOUT)
