"""The event bus: the ``EventBus`` protocol a service depends on, and its implementations.

- ``protocol``: ``EventBus``, ``Subscription`` (one consumed type, its data model, its
  handler), ``ParkReason``.
- ``delivery``: decoding a delivery and settling it (retry or park), shared by both buses.
- ``rabbitmq``: ``Bus``, the aio-pika implementation the services run on.
- ``topology``: the RabbitMQ names and queue arguments, the broker timeouts.
- ``memory``: ``InMemoryBus``, for tests of handlers and consumers without a broker.
"""

from shared.bus.delivery import validation_detail
from shared.bus.memory import InMemoryBus, ParkedEvent
from shared.bus.protocol import DataT, EventBus, Handler, ParkReason, Subscription
from shared.bus.rabbitmq import Bus
from shared.bus.topology import (
    CLOSE_TIMEOUT,
    PARKING_ARGUMENTS,
    PUBLISH_TIMEOUT,
    Topology,
    retry_queue_arguments,
    service_queue_arguments,
)

__all__ = [
    "CLOSE_TIMEOUT",
    "PARKING_ARGUMENTS",
    "PUBLISH_TIMEOUT",
    "Bus",
    "DataT",
    "EventBus",
    "Handler",
    "InMemoryBus",
    "ParkReason",
    "ParkedEvent",
    "Subscription",
    "Topology",
    "retry_queue_arguments",
    "service_queue_arguments",
    "validation_detail",
]
