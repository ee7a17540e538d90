"""A service's real application, started in the test's process (for integration tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

import aio_pika
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.bus import Topology
from shared.config import ServiceSettings
from tests.support.broker import delete_topology

RETRY_DELAYS = [0.2, 0.5]


@contextlib.asynccontextmanager
async def running(build: Callable[..., web.Application], settings: ServiceSettings,
                  role: str = "all", *, port: int | None = None,
                  contexts: Sequence[Callable[[web.Application], AsyncIterator[None]]] = ()
                  ) -> AsyncIterator[TestServer]:
    """Start ``build(settings, role)`` on ``port`` (default: a free one); afterwards drop its
    database and queues. ``contexts`` are cleanup contexts the app gets if it lacks them (a
    background task a test needs before the service wires it)."""
    app = build(settings, role)
    for context in contexts:
        if context not in app.cleanup_ctx:
            app.cleanup_ctx.append(context)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
        from shared import mongo
        client = mongo.connect(settings.mongodb_url)
        await client.drop_database(settings.database_name)
        await client.close()
        await delete_topology(settings.amqp_url,
                              Topology(settings.bus_prefix, settings.service_name),
                              settings.retry_delays)


def settings_for(settings_type: type[ServiceSettings], *, mongo_url: str, amqp_url: str,
                 bus_prefix: str, unique: str, **extra) -> ServiceSettings:
    # ``jwks_url`` may be given in ``extra`` (a service verifying its own tokens).
    extra = {"jwks_url": "http://127.0.0.1:9/.well-known/jwks.json", **extra}
    return settings_type(mongodb_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                         database=f"it_{unique}_{settings_type.__name__.lower()}",
                         retry_delays=RETRY_DELAYS, relay_poll_seconds=0.2,
                         **{"dev_mode": True, **extra})


def envelope(etype: str, data: dict, *, company_id: str | None = None,
             source: str = "/tests") -> dict:
    env = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": etype,
           "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
           "data": data, "correlationid": uuid.uuid4().hex}
    if company_id:
        env["companyid"] = company_id
    return env


async def publish(amqp_url: str, bus_prefix: str, *envelopes: dict) -> None:
    """Publish envelopes to the platform exchange as an outside system would."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"{bus_prefix}.events",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        for e in envelopes:
            await exchange.publish(aio_pika.Message(json.dumps(e).encode(),
                                                    content_type="application/cloudevents+json",
                                                    message_id=e["id"]),
                                   routing_key=e["type"])
    finally:
        await connection.close()


async def eventually(check: Callable, seconds: float = 15, interval: float = 0.1):
    """Await ``check()`` until it returns a truthy value; fail after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {seconds}s")
        await asyncio.sleep(interval)


def consumed(app: web.Application, etype: str) -> float:
    from shared.app_keys import METRICS
    return app[METRICS].events_consumed.labels(etype, "ok")._value.get()
