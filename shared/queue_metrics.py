"""The broker's view of a service's queues in ``/metrics``: consumer lag (messages ready in the
service's queue), consumers attached (all replicas), and the parking queue's depth.

Read by each consuming process every ``interval`` seconds with two passive declarations on a
channel of its own: a bounded cost whoever scrapes and however often (``/metrics`` is not
authenticated), and no management plugin needed. Every worker replica reports the same
values; the alert rules and the dashboard take ``max by (queue)``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from shared import tracing
from shared.bus.topology import PUBLISH_TIMEOUT
from shared.logging import get_logger

if TYPE_CHECKING:  # the bus starts and stops its ``QueueMetrics``
    from shared.bus.rabbitmq import Bus

log = get_logger("queue_metrics")


async def observe_queues(bus: Bus) -> None:
    """Read the depth and consumers of the service's queue and the parking queue's depth."""
    if bus.connection is None or not bus.connected:
        return
    t, metrics = bus.topology, bus.metrics
    channel = await asyncio.wait_for(bus.connection.channel(), PUBLISH_TIMEOUT)
    try:
        queue = await asyncio.wait_for(
            channel.declare_queue(t.queue, passive=True, robust=False), PUBLISH_TIMEOUT)
        declared = queue.declaration_result
        metrics.consumer_queue_messages.labels(t.queue).set(declared.message_count or 0)
        metrics.consumer_queue_consumers.labels(t.queue).set(declared.consumer_count or 0)
        parked = await asyncio.wait_for(
            channel.declare_queue(t.parked, passive=True, robust=False), PUBLISH_TIMEOUT)
        # Labelled by the service's queue: one label value names the service everywhere.
        metrics.parked_messages.labels(t.queue).set(
            parked.declaration_result.message_count or 0)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


class QueueMetrics:
    """Keeps the queue gauges of a consuming process current (``start``/``stop``; the bus
    does both when given ``queue_metrics_interval``)."""

    def __init__(self, bus: Bus, interval: float = 15.0) -> None:
        self.bus = bus
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            # Its reads are no one's trace (like the relay's polls).
            self._task = asyncio.create_task(self._loop(), name="queue-metrics",
                                             context=tracing.background_context())

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: aio-pika may turn the cancellation of a channel operation into an
            # error of its own; the loop then ends at its next check of ``_stopping``.
            await asyncio.wait([task], timeout=PUBLISH_TIMEOUT)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await observe_queues(self.bus)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # broker away or queue missing: the gauges keep their values
                if self._stopping:
                    return
                log.debug("queue metrics not read", error=f"{type(e).__name__}: {e}"[:200])
            await asyncio.sleep(self.interval)
