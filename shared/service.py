"""Wiring one service process: the app with every resource in ``cleanup_ctx``, by role.

Roles: ``api`` serves the HTTP API, ``worker`` consumes events, ``all`` does both. Every role
runs the relay (whoever writes an aggregate publishes its events at once) and serves the
health, metrics and OpenAPI endpoints, so operations watch workers the same way.

Shutdown (SIGTERM or SIGINT, any role): the listening socket closes and the consumer is
cancelled at once; the HTTP requests and event handlers in flight get
``shutdown_grace_seconds`` (counted from the signal) to finish and record their outcome; the
handlers still running then are cancelled and their events requeued; the relay publishes what
was written, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import stamina
import uvloop
from aiohttp import web

from shared import mongo, tracing
from shared.app_keys import BUS, DB, RELAY, SERVICE_SETTINGS
from shared.auth import TokenVerifier
from shared.bus import Bus, EventBus, Subscription, Topology
from shared.config import DevelopmentDefaultRefused, ServiceSettings, refuse_development_defaults
from shared.http import Routes, add_readiness_check, add_routes, new_app
from shared.logging import configure_logging, get_logger
from shared.metrics import Metrics
from shared.relay import Relay

ROLES = ("api", "worker", "all")
# How often a consuming process reads its queues' depths (``shared.queue_metrics``).
QUEUE_METRICS_SECONDS = 15.0

log = get_logger("service")


@dataclass
class ServiceDefinition:
    """What makes a service itself: its routes, stores and consumed events."""

    title: str
    routes: Routes
    # Creates the service's stores on the database (register them with ``relay.watch``).
    setup: Callable[[web.Application], Awaitable[None]]
    # The consumed events, bound to the app's stores.
    subscriptions: Callable[[web.Application], list[Subscription[Any]]] = lambda app: []
    description: str = ""
    extra_contexts: list[Callable[[web.Application], AsyncIterator[None]]] = field(
        default_factory=list)


def create_app(definition: ServiceDefinition, settings: ServiceSettings,
               role: str = "all", *, bus: EventBus | None = None) -> web.Application:
    """The service's application for ``role``; nothing connects until it starts. ``bus``:
    the event bus to use instead of the RabbitMQ one of ``settings`` (an ``InMemoryBus``)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    # Before anything else: a pepper or key everybody knows must never serve real users.
    refuse_development_defaults(settings)
    metrics = Metrics(settings.service_name)
    verifier = TokenVerifier(settings.jwks_url, issuer=settings.token_issuer,
                             audience=settings.token_audience)
    app = new_app(metrics=metrics, verifier=verifier, max_body_bytes=settings.max_body_bytes,
                  title=definition.title, description=definition.description)
    app[SERVICE_SETTINGS] = settings
    if bus is None:
        bus = rabbitmq_bus(settings, metrics)
    relay = Relay(bus, metrics, poll_seconds=settings.relay_poll_seconds,
                  lease_seconds=settings.relay_lease_seconds)
    app[BUS] = bus
    app[RELAY] = relay
    if role in ("api", "all"):
        add_routes(app, definition.routes)

    async def database(app: web.Application) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_url)
        # The relay has connections of its own: under load the commands would otherwise hold
        # every pooled connection and the relay would wait behind them.
        relay.client = mongo.connect(settings.mongodb_url, appname="bap-relay")
        app[DB] = client[settings.database_name]
        add_readiness_check(app, "mongodb", lambda: mongo.ping(app[DB]))
        await definition.setup(app)
        yield
        await client.close()
        relay_client, relay.client = relay.client, None
        await relay_client.close()

    async def broker(app: web.Application) -> AsyncIterator[None]:
        await _connect_with_retry(bus)
        add_readiness_check(app, "broker", lambda: bus.connected)
        if role in ("worker", "all"):
            bus.subscribe(definition.subscriptions(app))
            await bus.declare_queues()
            add_readiness_check(app, "consumers", lambda: bus.consuming)
        await relay.start()
        add_readiness_check(app, "relay", lambda: relay.running)
        if role in ("worker", "all"):
            await bus.start_consuming()
        yield
        # The handlers first (the grace period counts from SIGTERM, see ``stop_taking_work``),
        # then the relay, which publishes what they wrote, then the connection.
        await bus.drain(settings.shutdown_grace_seconds)
        await relay.stop()
        await bus.close(settings.shutdown_grace_seconds)

    async def stop_taking_work(app: web.Application) -> None:
        # on_shutdown runs as soon as the listening socket is closed, before aiohttp waits for
        # the requests in flight: deliveries stop now, not after the HTTP side has drained.
        await bus.stop_consuming()

    async def token_keys(app: web.Application) -> AsyncIterator[None]:
        yield
        await verifier.close()

    # A service's own resources start after the database and stop after the bus, so
    # handlers still in flight at shutdown can use them.
    app.cleanup_ctx.extend([database, *definition.extra_contexts, broker, token_keys])
    app.on_shutdown.append(stop_taking_work)
    return app


def rabbitmq_bus(settings: ServiceSettings, metrics: Metrics) -> Bus:
    """The service's bus on RabbitMQ, as ``settings`` say; a consuming process reads its
    queues' depths into the metrics (consumer lag, parked messages)."""
    return Bus(settings.amqp_url, Topology(settings.bus_prefix, settings.service_name), metrics,
               prefetch=settings.prefetch, delivery_limit=settings.delivery_limit,
               retry_delays=settings.retry_delays, max_event_bytes=settings.max_event_bytes,
               queue_metrics_interval=QUEUE_METRICS_SECONDS)


async def _connect_with_retry(bus: EventBus, seconds: float = 60.0) -> None:
    """Connect, trying again every second for ``seconds`` while the broker does not answer
    (it may start after us)."""
    async for attempt in stamina.retry_context(on=Exception, attempts=None, timeout=seconds,
                                               wait_initial=1.0, wait_max=1.0,
                                               wait_jitter=0.0):
        with attempt:
            try:
                await bus.connect()
            except Exception as e:
                log.warning("broker not reachable yet; retrying", error=str(e)[:200])
                raise


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop a service process runs on (and ``make bench`` measures it on): uvloop,
    libuv's loop in C, which costs measurably less CPU per request and per event than
    asyncio's own (README, Measured)."""
    return uvloop.new_event_loop()


def main(definition: ServiceDefinition, settings_type: type[ServiceSettings],
         argv: list[str] | None = None) -> None:
    """``python -m services.<name> [api|worker|all]``."""
    settings = settings_type()
    parser = argparse.ArgumentParser(prog=f"python -m services.{settings.service_name}")
    parser.add_argument("role", nargs="?", default="all", choices=ROLES)
    parser.add_argument("--port", type=int, default=None, help="HTTP port (overrides settings)")
    args = parser.parse_args(argv)
    if args.port is not None:
        settings.http_port = args.port
    # Whoever started the process may have left the stop signals blocked (a mask is inherited
    # through exec): SIGTERM must reach the drain below, or the orchestrator's kill ends it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    # Before the app exists: the instrumentations patch aiohttp's Application, aio-pika and
    # pymongo (only when an OTLP endpoint is set; see shared/tracing.py).
    tracing.configure(settings.service_name, args.role)
    try:
        app = create_app(definition, settings, args.role)
    except DevelopmentDefaultRefused as e:
        raise SystemExit(f"{settings.service_name}: {e}") from None
    log.info("starting", role=args.role, port=settings.http_port)
    web.run_app(app, loop=new_event_loop(), host=settings.http_host, port=settings.http_port,
                print=None, access_log=None, handle_signals=True,
                # SIGTERM/SIGINT: no new connections or deliveries; what is in flight gets
                # the grace period (requests here, event handlers in the broker context).
                shutdown_timeout=settings.shutdown_grace_seconds)
