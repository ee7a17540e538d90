"""A bus that records what the relay publishes, for the compatibility tests of the relay's
MongoDB writes."""

from __future__ import annotations

from shared.relay import Relay


class RecordingBus:
    """Stands in for the broker only; every MongoDB write in the test is real."""

    def __init__(self, on_publish=None) -> None:
        self.published: list[dict] = []
        self.on_publish = on_publish

    async def publish(self, envelope: dict) -> None:
        self.published.append(envelope)
        if self.on_publish is not None:
            await self.on_publish(envelope)


def relay_with(bus=None, **kwargs) -> Relay:
    return Relay(bus or RecordingBus(), metrics=None, **kwargs)  # type: ignore[arg-type]
