"""Fixtures of the integration tier: buses on names of the test's own, removed afterwards, a
TCP proxy to take the broker away, queues looked at directly, the ops CLI, and billing in the
test's process (its harness: ``tests/support/billing.py``). Waiting for something is
``tests.support.polling.eventually``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from shared import mongo
from shared.bus import Bus, Subscription, Topology
from shared.config import ServiceSettings
from shared.events import make_event
from shared.lease import Lease
from shared.metrics import Metrics
from tests.support.billing import Billing
from tests.support.broker import delete_topology
from tests.support.parked import BODIES, INVOICE_SENT, InvoiceSent
from tests.support.payment_provider import PaymentProvider
from tests.support.polling import eventually
from tests.support.processes import SERVICES, free_port
from tests.support.services import consumed_in, running, settings_for
from tests.support.tcp_proxy import TcpProxy
from tests.support.tokens import TokenAuthority

ROOT = Path(__file__).resolve().parents[2]


class BusFactory:
    """Creates connected buses for a test and removes everything they declared afterwards."""

    def __init__(self, amqp_url: str, prefix: str) -> None:
        self.amqp_url = amqp_url
        self.prefix = prefix
        self.buses: list[Bus] = []
        self.topologies: dict[Topology, set[float]] = {}

    def topology(self, service: str = "svc") -> Topology:
        return Topology(self.prefix, service)

    async def __call__(self, service: str = "svc", *, url: str | None = None,
                       connect: bool = True, **kwargs: Any) -> Bus:
        kwargs.setdefault("retry_delays", [0.2, 0.4])
        topology = self.topology(service)
        bus = Bus(url or self.amqp_url, topology, Metrics(service), **kwargs)
        self.topologies.setdefault(topology, set()).update(bus.retry_delays)
        self.buses.append(bus)
        if connect:
            await asyncio.wait_for(bus.connect(), 30)
        return bus

    async def close(self) -> None:
        for bus in reversed(self.buses):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.close(), 15)
        for topology, delays in self.topologies.items():
            await delete_topology(self.amqp_url, topology, sorted(delays))


@pytest.fixture
async def proxy(amqp_url: str):
    """A TCP proxy in front of RabbitMQ; ``proxy.url(amqp_url)`` goes through it."""
    p = await TcpProxy.for_url(amqp_url).start()
    yield p
    await p.close()


@pytest.fixture
async def make_bus(amqp_url: str, bus_prefix: str, proxy: TcpProxy):
    # Depends on ``proxy`` only so that buses close before the proxy does (fixtures end in
    # reverse order): a bus talking through it then closes cleanly, not into a dead socket.
    factory = BusFactory(amqp_url, bus_prefix)
    yield factory
    await factory.close()


@pytest.fixture
async def amqp(amqp_url: str):
    """A plain (not robust) connection for a test to look at queues directly."""
    connection = await aio_pika.connect(amqp_url)
    yield connection
    await connection.close()


async def _get_all(connection: aio_pika.abc.AbstractConnection, queue: str,
                   *, ack: bool = True) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message in ``queue`` now (acked, so removed, unless ``ack=False``)."""
    channel = await connection.channel()
    try:
        q = await channel.declare_queue(queue, passive=True)
        out = []
        while (message := await q.get(fail=False, no_ack=False)) is not None:
            out.append(message)
            if ack:
                await message.ack()
    finally:
        await channel.close()
    return out


@pytest.fixture
def get_all():
    return _get_all


async def _queue_depth(connection: aio_pika.abc.AbstractConnection, queue: str) -> int:
    channel = await connection.channel()
    try:
        q = await channel.declare_queue(queue, passive=True)
        return q.declaration_result.message_count or 0
    finally:
        await channel.close()


@pytest.fixture
def queue_depth():
    return _queue_depth


@pytest.fixture
def consumed_ok():
    """How many events of a type a bus has acknowledged after its handler succeeded:
    ``consumed_ok(bus, etype)``."""
    return lambda bus, etype: consumed_in(bus.metrics, etype)


async def _run_ops_cli(amqp_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m shared.ops ARGS`` as an operator runs it, against the test's own names."""
    env = {**os.environ, "AMQP_URL": amqp_url, "BUS_PREFIX": prefix}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.ops", *args, cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace"))


@pytest.fixture
def ops_cli():
    return _run_ops_cli


@pytest.fixture
async def billing(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str):
    """billing in this process, with tokens of a ``TokenAuthority`` and a local card
    payment provider."""
    from services.billing.app import build
    from services.billing.settings import BillingSettings

    async with TokenAuthority.serving() as authority, PaymentProvider.serving() as provider:
        settings = settings_for(BillingSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                                bus_prefix=bus_prefix, unique=unique,
                                payment_provider_url=provider.url,
                                jwks_url=authority.jwks_url)
        async with running(build, settings) as server, aiohttp.ClientSession() as http:
            yield Billing(server, authority, provider, amqp_url, bus_prefix, http)


@pytest.fixture
async def company(billing: Billing, unique: str) -> str:
    """A company identity has registered, with its billing account open."""
    company_id = f"c-{unique}"
    await billing.open_company(company_id)
    return company_id


# -- fixtures one test module uses (named in the docstring) ---------------------------------

@pytest.fixture
async def traced_db(spans, mongo_url, db):
    """(test_tracing_bus.py) The test's database through a client whose commands are spans
    (pymongo's instrumentation, installed for this test only)."""
    instrumentor = PymongoInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    client = mongo.connect(mongo_url)
    try:
        yield client[db.name]
    finally:
        await client.close()
        instrumentor.uninstrument()


@pytest.fixture
async def parked_three(make_bus, amqp, queue_depth):
    """(test_ops_cli.py) A billing consumer whose handler fails (until ``state['broken']``
    flips) and three of its events parked after their retries."""
    state = {"broken": True, "handled": []}

    async def handle(event, data: InvoiceSent) -> None:
        if state["broken"]:
            raise RuntimeError(f"mail server refused {data.invoice}")
        state["handled"].append(event.id)

    bus = await make_bus("billing", retry_delays=[0.05])
    bus.subscribe([Subscription(INVOICE_SENT, InvoiceSent, handle)])
    await bus.start_consuming()
    events = [make_event(INVOICE_SENT, {"invoice": f"inv-{i}"}, source="test") for i in range(3)]
    for e in events:
        await bus.publish(e)

    async def three_parked() -> bool:
        return await queue_depth(amqp, bus.topology.parked) == 3

    await eventually(three_parked, message="three events parked")
    return bus, events, state


@pytest.fixture
async def parked_bodies(make_bus, amqp, queue_depth):
    """(test_ops_cli_any_body.py) Every body of BODIES parked by the consumer itself, then
    the consumer gone."""
    bus = await make_bus("billing", max_event_bytes=1_048_576)
    bus.subscribe([Subscription(INVOICE_SENT, InvoiceSent, lambda e, d: None)])
    await bus.start_consuming()
    channel = await amqp.channel()
    for message_id, body in BODIES.items():
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id), routing_key=bus.topology.queue)
    await channel.close()

    async def all_parked() -> bool:
        channel = await amqp.channel()
        try:
            q = await channel.declare_queue(bus.topology.parked, passive=True)
            return q.declaration_result.message_count == len(BODIES)
        finally:
            await channel.close()

    await eventually(all_parked, seconds=20, message="every body parked")
    await bus.close()
    return bus.topology


class Clock:
    """The lease's time, moved by the test (no sleeps)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """(test_lease.py) The lease's clock."""
    return Clock()


@pytest.fixture
async def jobs(db, clock: Clock) -> Lease:
    """(test_lease.py) A lease over three queued jobs."""
    coll = db["jobs"]
    await coll.insert_many([
        {"_id": f"job-{i}", "status": "queued", "n": i, "version": 1, "lease_until": 0.0,
         "lease_owner": ""} for i in range(3)])
    return Lease(coll, seconds=30.0, clock=clock)


# Retry queues each service declares under `make run` (notifications has its own back-off).
RUN_RETRY_DELAYS = {"notifications": [2.0, 8.0, 32.0, 128.0, 512.0]}


@pytest.fixture
def run_env(bus_prefix: str, unique: str, tmp_path: Path, amqp_url: str):
    """(test_make_run_stops.py) The environment of `make run` on free ports, with its own
    emulator data; afterwards that data and every queue the services declared removed."""
    ports = {name: free_port() for name in SERVICES}
    mongo_port = free_port()
    data = f"run-test-{unique}"
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"}  # its own emulator
    env.update({
        "AMQP_URL": amqp_url, "BUS_PREFIX": bus_prefix, "MONGO_PORT": str(mongo_port),
        "RUN_MONGO_DATA": data, "RUN_STOP_GRACE_SECONDS": "20", "LOG_FORMAT": "json",
        "NOTIFICATIONS_MAIL_DIR": str(tmp_path / "mail"),
        "NOTIFICATIONS_SMS_DIR": str(tmp_path / "sms"),
        **{f"{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()},
    })
    yield env, [*ports.values(), mongo_port]
    var = ROOT / "var"
    shutil.rmtree(var / data, ignore_errors=True)
    for leftover in (var / f"{data}.log", var / f"{data}.pid"):
        leftover.unlink(missing_ok=True)
    default_delays = ServiceSettings().retry_delays

    async def clean() -> None:
        for name in SERVICES:
            await delete_topology(amqp_url, Topology(bus_prefix, name),
                                  RUN_RETRY_DELAYS.get(name, default_delays))
    asyncio.run(clean())
