"""The RabbitMQ topology of a service: names, queue arguments and the broker timeouts.

Topology for prefix ``p`` and service ``s``::

    p.events            topic exchange; routing key = event type
    p.s                 quorum queue of s (competing consumers across replicas), bound per
                        subscribed type; delivery limit, dead-letters to p.dead
    p.s.retry.<ms>ms    one delay queue per back-off step: TTL, then back to p.s
    p.dead              direct exchange for what the delivery limit rejects
    p.s.parked          what can not be processed, with x-park-* headers saying why (a
                        durable classic queue: looking at it spends no delivery attempt)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PUBLISH_TIMEOUT = 10.0
# How long ``close`` waits for the broker (cancel the consumer) before it lets the connection go.
CLOSE_TIMEOUT = 5.0

# The parking queue's arguments (see ``Bus._declare_parking_queue`` for why classic).
PARKING_ARGUMENTS: dict[str, Any] = {"x-queue-type": "classic"}


@dataclass(frozen=True)
class Topology:
    prefix: str
    service: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_exchange(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.{self.service}"

    @property
    def parked(self) -> str:
        return f"{self.prefix}.{self.service}.parked"

    def retry(self, delay_seconds: float) -> str:
        return f"{self.prefix}.{self.service}.retry.{int(delay_seconds * 1000)}ms"


# Every queue names its type, and the quorum queue its delivery limit: RabbitMQ 4 changed
# defaults that would otherwise apply (a vhost's default queue type may make an untyped
# queue a quorum queue, and a quorum queue without x-delivery-limit gets 20 deliveries).
# Naming "classic" is equivalent to naming nothing on 3.x, so existing queues are kept.
def service_queue_arguments(topology: Topology, delivery_limit: int) -> dict[str, Any]:
    """The service's quorum queue: a bounded number of deliveries, then dead-lettered to the
    parking queue (through the dead-letter exchange)."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": topology.dead_exchange,
        "x-dead-letter-routing-key": topology.queue,
    }


def retry_queue_arguments(topology: Topology, delay_seconds: float) -> dict[str, Any]:
    """A delay queue: a classic queue (nothing consumes it, so no delivery is ever counted)
    whose messages expire after the delay and go back to the service's queue."""
    return {
        "x-queue-type": "classic",
        "x-message-ttl": int(delay_seconds * 1000),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": topology.queue,
    }
