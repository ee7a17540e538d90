"""Listening to the platform's events from a test, as an outside system would."""

from __future__ import annotations

import json

import aio_pika

from tests.support.polling import eventually


class EventTap:
    """A queue of the test's own bound to the platform exchange for some event types; it
    keeps every event that arrives (codes and links for notifications included)."""

    def __init__(self, amqp_url: str, bus_prefix: str, *types: str) -> None:
        self.amqp_url, self.bus_prefix, self.types = amqp_url, bus_prefix, types
        self.events: list[dict] = []

    async def __aenter__(self) -> EventTap:
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(f"{self.bus_prefix}.events",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for t in self.types or ("#",):
            await self._queue.bind(exchange, routing_key=t)

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))
        await self._queue.consume(keep)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    def of(self, etype: str, **match) -> list[dict]:
        return [e for e in self.events if e["type"] == etype
                and all(e["data"].get(k) == v for k, v in match.items())]

    async def wait_for(self, etype: str, seconds: float = 15, **match) -> dict:
        """The latest ``etype`` event whose data has ``match``, once one has arrived."""
        found = await eventually(lambda: self.of(etype, **match), seconds, message=lambda: (
            f"{etype} {match}; saw {[e['type'] for e in self.events]}"))
        return found[-1]
