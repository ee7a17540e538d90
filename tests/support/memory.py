"""A service wired on the in-memory bus, for the consumer tests (MongoDB emulator, no broker):
events received, everything settled until the relay and the bus are idle, what was published
read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.bus import InMemoryBus
from shared.relay import Relay

U = TypeVar("U")


@dataclass
class InMemoryService(Generic[U]):
    bus: InMemoryBus
    relay: Relay
    uow: U

    async def settle(self) -> None:
        """Until nothing is left: the relay publishes what was saved, the bus delivers."""
        while await self.relay.drain() + await self.bus.deliver_all():
            pass

    async def receive(self, *envelopes: dict[str, Any]) -> None:
        for e in envelopes:
            self.bus.deliver(e)
        await self.settle()

    def published(self, etype: str, **data: object) -> list[dict[str, Any]]:
        return [e for e in self.bus.published_of(etype)
                if all(e["data"].get(k) == v for k, v in data.items())]
