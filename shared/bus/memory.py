"""``InMemoryBus``: the ``EventBus`` of tests, with no broker and no background task.

Published events are kept (``published``) and, when the bus subscribes to their type, queued
for its subscribers; ``deliver_all`` hands every queued delivery to its handler, in order,
until none is left, so a test decides when consumers run and sees the outcome at once.
Consuming follows the RabbitMQ bus exactly, through the same code (``shared.bus.delivery``):
the envelope decoded with ``CloudEvent``, ``data`` validated with the subscription's model,
parking with the same reasons and headers, a handler's ``PermanentEventError`` parked as
``rejected``, any other exception retried ``len(retry_delays)`` times and then parked as
``handler-failed``. Retries are not delayed: they go to the back of the queue at once.

    bus = InMemoryBus("billing")
    bus.subscribe(subscriptions(unit))
    await bus.publish(make_event(...))      # or: await relay.drain() with Relay(bus, ...)
    await bus.deliver_all()
    assert bus.parked == [] and ...
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
from shared.bus.protocol import ParkReason, Subscription
from shared.events import CloudEvent
from shared.metrics import Metrics


@dataclass(frozen=True)
class ParkedEvent:
    """A delivery the bus parked: the message as it came, why, and the headers the RabbitMQ
    bus gives its parked copy (``x-park-reason``, ``x-park-detail``, ...)."""

    body: bytes
    reason: ParkReason
    detail: str
    attempts: int
    headers: dict[str, Any]

    @property
    def envelope(self) -> Any:
        """The body as JSON (what a test usually looks at); raises if it is not JSON."""
        return json.loads(self.body)


@dataclass
class _Delivery:
    body: bytes
    type: str
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def attempts(self) -> int:
        return attempts_of(self.headers)


class InMemoryBus:
    """An ``EventBus`` in memory (see the module's docstring)."""

    def __init__(self, service: str = "svc", metrics: Metrics | None = None, *,
                 retry_delays: Sequence[float] | None = None,
                 max_event_bytes: int = 1_048_576) -> None:
        self.service = service
        self.queue = f"memory.{service}"
        self.metrics = metrics or Metrics(service)
        self.retry_delays = list(retry_delays if retry_delays is not None else [1, 5, 30])
        self.max_event_bytes = max_event_bytes
        self.subscriptions: dict[str, Subscription[Any]] = {}
        # What a test reads: every event published (as JSON carries it), every event a
        # handler took without raising, every delivery parked, every retry scheduled.
        self.published: list[dict[str, Any]] = []
        self.handled: list[CloudEvent] = []
        self.parked: list[ParkedEvent] = []
        self.retries: list[Retry] = []
        # True: the broker is away (``publish`` raises, ``connected`` is false).
        self.unavailable = False
        self._pending: deque[_Delivery] = deque()
        self._open = True
        self._consuming = False
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._open and not self.unavailable

    @property
    def consuming(self) -> bool:
        return self._consuming and self.connected

    async def connect(self) -> None:
        self._open = True

    async def declare_queues(self) -> None:
        """Nothing to declare: the queue is the bus's own list."""

    async def start_consuming(self) -> None:
        self._consuming, self._stopping = True, False

    async def stop_consuming(self) -> None:
        """``deliver_all`` delivers nothing from now on; what is queued stays queued."""
        self._consuming, self._stopping = False, True

    async def drain(self, grace: float) -> None:
        # No handler runs in the background: each runs inside ``deliver_all``.
        await self.stop_consuming()

    async def close(self, grace: float = 10.0) -> None:
        await self.drain(grace)
        self._open = False

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, envelope: dict[str, Any]) -> None:
        """Keep the event (as JSON carries it) and queue it if the bus subscribes to its type."""
        if not self.connected:
            raise ConnectionError("the broker is not reachable right now")
        body = json.dumps(envelope, separators=(",", ":")).encode()
        self.published.append(json.loads(body))
        self.metrics.events_published.labels(envelope["type"]).inc()
        if envelope["type"] in self.subscriptions:
            self._pending.append(_Delivery(body, envelope["type"], {"x-attempts": 0}))

    def published_of(self, event_type: str) -> list[dict[str, Any]]:
        """The events of ``event_type`` published so far, in order."""
        return [e for e in self.published if e.get("type") == event_type]

    # -- consuming -------------------------------------------------------------------------
    def subscribe(self, subscriptions: Sequence[Subscription[Any]]) -> None:
        subscribe(self.subscriptions, subscriptions)

    def deliver(self, body: bytes | dict[str, Any], *, type: str | None = None,
                attempts: int = 0) -> None:
        """Queue a message as the broker would deliver it, whatever it holds (an envelope, or
        any bytes: a malformed message), as the ``attempts``-th retry; ``type`` is the
        message's type property (the envelope's type by default)."""
        if isinstance(body, dict):
            type = type or str(body.get("type", ""))
            body = json.dumps(body, separators=(",", ":")).encode()
        self._pending.append(_Delivery(body, type or "", {"x-attempts": attempts}))

    @property
    def pending(self) -> int:
        """How many deliveries are queued."""
        return len(self._pending)

    async def deliver_all(self, *, limit: int = 10_000) -> int:
        """Hand every queued delivery to its handler, in order, until none is left (retries
        and the events handlers publish included); returns how many were handed over. Raises
        ``RuntimeError`` beyond ``limit`` deliveries (events that keep causing events)."""
        delivered = 0
        while self._pending and not self._stopping:
            if delivered >= limit:
                raise RuntimeError(f"more than {limit} deliveries: do events cause each other?")
            await self._handle(self._pending.popleft())
            delivered += 1
        return delivered

    async def _handle(self, delivery: _Delivery) -> None:
        attempts = delivery.attempts
        etype = delivery.type or "unknown"
        try:
            decoded = decode(delivery.body, self.subscriptions, max_bytes=self.max_event_bytes,
                             service=self.service)
        except Park as p:
            self._park(delivery, (p.event_type or etype)[:100], p.reason, p.detail, attempts)
            return
        event = decoded.event
        with handling(event, delivery.headers, self.queue):
            try:
                await decoded.subscription.handler(event, decoded.data)
            except Exception as e:
                outcome = after_failure(e, attempts, self.retry_delays)
                if isinstance(outcome, Retry):
                    self.retries.append(outcome)
                    self._pending.append(_Delivery(delivery.body, delivery.type, {
                        **delivery.headers, **retry_headers(outcome)}))
                    self.metrics.events_retried.labels(event.type).inc()
                else:
                    self._park(delivery, event.type, outcome.reason, outcome.detail,
                               outcome.attempts)
                return
            self.handled.append(event)
            self.metrics.events_consumed.labels(event.type, "ok").inc()

    def _park(self, delivery: _Delivery, etype: str, reason: ParkReason, detail: str,
              attempts: int) -> None:
        headers = park_headers(reason, detail, attempts, self.service, delivery.type)
        self.parked.append(ParkedEvent(delivery.body, reason, detail, attempts,
                                       {**delivery.headers, **headers}))
        self.metrics.events_parked.labels(type_label(etype, self.subscriptions), reason).inc()
