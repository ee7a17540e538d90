"""What a service needs of an event bus, apart from any broker: ``EventBus``, the
``Subscription`` of one consumed event type, and the reasons a consumed event is parked.

Two implementations: ``shared.bus.rabbitmq.Bus`` (aio-pika, what the services run on) and
``shared.bus.memory.InMemoryBus`` (tests of handlers and consumers without a broker). Both
decode and settle a delivery with the same code (``shared.bus.delivery``).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from shared.events import CloudEvent

DataT = TypeVar("DataT", bound=BaseModel)
Handler = Callable[[CloudEvent, DataT], Awaitable[None]]

# Why a consumed event was parked (the ``x-park-reason`` header, the metrics' ``reason``).
# Decoding: ``too-large``, ``not-json``, ``not-an-envelope``, ``invalid-envelope``,
# ``unknown-type``, ``invalid-data``. Handling: ``rejected`` (the handler raised
# ``PermanentEventError``), ``handler-failed`` (it kept failing through every retry).
ParkReason = Literal["too-large", "not-json", "not-an-envelope", "invalid-envelope",
                     "unknown-type", "invalid-data", "rejected", "handler-failed"]


@dataclass(frozen=True)
class Subscription(Generic[DataT]):
    """One consumed event type: the model its ``data`` must match and the handler to call.

    The handler receives ``data`` as that model (``Subscription("t", Model, handle)`` with
    ``async def handle(event: CloudEvent, data: Model)``): a type checker holds the two
    together, no ``isinstance`` needed in the handler.
    """

    type: str
    # ``builtins.type``: the field ``type`` above shadows the builtin in this class body.
    model: builtins.type[DataT]
    handler: Handler[DataT]


class EventBus(Protocol):
    """A service's bus: publish events, consume the subscribed ones.

    Publishing: ``publish`` returns once the event is stored by the bus (the broker's
    confirm), else raises; the relay calls it and removes the event only afterwards.

    Consuming: each delivery is decoded (a ``CloudEvent`` envelope, then ``data`` validated
    with the subscription's model) and handed to the subscription's handler. What can not be
    decoded is parked at once with its reason (``ParkReason``); a handler raising
    ``PermanentEventError`` has its event parked as ``rejected``; any other exception sends it
    to a later attempt, and after the last retry it is parked as ``handler-failed``. Parking
    never loses the event: it is kept, with the reason, for an operator.

    Lifecycle (``shared.service``): ``connect``, ``subscribe`` and ``declare_queues``, then
    ``start_consuming``; on shutdown ``stop_consuming`` (no new deliveries), ``drain`` (the
    handlers running get the grace period), ``close``.
    """

    @property
    def connected(self) -> bool: ...

    @property
    def consuming(self) -> bool: ...

    async def connect(self) -> None: ...

    async def publish(self, envelope: dict[str, Any]) -> None: ...

    def subscribe(self, subscriptions: Sequence[Subscription[Any]]) -> None: ...

    async def declare_queues(self) -> None: ...

    async def start_consuming(self) -> None: ...

    async def stop_consuming(self) -> None: ...

    async def drain(self, grace: float) -> None: ...

    async def close(self, grace: float = 10.0) -> None: ...
