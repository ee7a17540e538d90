"""Test helpers for RabbitMQ: unique names per test and removal of what a test declared."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import aio_pika

from shared.bus import Topology


async def delete_topology(url: str, topology: Topology, retry_delays: list[float]) -> None:
    """Delete the queues and exchanges a test's bus declared, so runs leave nothing behind."""
    await delete_broker_objects(
        url, [topology.queue, topology.parked, *(topology.retry(d) for d in retry_delays)],
        [topology.exchange, topology.dead_exchange])


async def delete_broker_objects(url: str, queues: Iterable[str], exchanges: Iterable[str]) -> None:
    """Delete queues and exchanges (a fresh channel per name: a failure closes it)."""
    connection = await aio_pika.connect(url)
    try:
        for name in queues:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                await channel.queue_delete(name)
        for name in exchanges:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                await channel.exchange_delete(name)
    finally:
        await connection.close()
