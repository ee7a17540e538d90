"""A service's real application, started in the test's process (for integration tests), its
settings for a test, and events published or counted as the outside sees them."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aio_pika
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.bus import Topology
from shared.config import ServiceSettings
from shared.metrics import Metrics
from tests.support.broker import delete_topology

RETRY_DELAYS = [0.2, 0.5]


@contextlib.asynccontextmanager
async def running(build: Callable[..., web.Application], settings: ServiceSettings,
                  role: str = "all", *, port: int | None = None) -> AsyncIterator[TestServer]:
    """Start ``build(settings, role)`` on ``port`` (default: a free one); afterwards drop its
    database and queues. The one way a test starts a service in its own process (real
    processes, for end-to-end tests: ``tests.support.processes``)."""
    app = build(settings, role)
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


def consumed(app: web.Application, etype: str, outcome: str = "ok") -> float:
    """How many events of ``etype`` the app's consumer has handled with ``outcome``, from its
    metrics (what an operator would read)."""
    from shared.app_keys import METRICS
    return consumed_in(app[METRICS], etype, outcome)


def consumed_in(metrics: Metrics, etype: str, outcome: str = "ok") -> float:
    """``bap_events_consumed_total`` of ``etype`` and ``outcome`` in ``metrics``."""
    return metrics.registry.get_sample_value(
        "bap_events_consumed_total", {"type": etype, "outcome": outcome}) or 0
