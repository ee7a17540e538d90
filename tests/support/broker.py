"""Test helpers for RabbitMQ: unique names per test and removal of what a test declared."""

from __future__ import annotations

import aio_pika

from shared.bus import Topology


async def delete_topology(url: str, topology: Topology, retry_delays: list[float]) -> None:
    """Delete the queues and exchanges a test's bus declared, so runs leave nothing behind."""
    connection = await aio_pika.connect(url)
    try:
        names = [topology.queue, topology.parked, *(topology.retry(d) for d in retry_delays)]
        for name in names:
            channel = await connection.channel()
            try:
                await channel.queue_delete(name)
            except aio_pika.exceptions.ChannelClosed:
                pass
        for name in (topology.exchange, topology.dead_exchange):
            channel = await connection.channel()
            try:
                await channel.exchange_delete(name)
            except aio_pika.exceptions.ChannelClosed:
                pass
    finally:
        await connection.close()
