"""Fixtures of the integration tier: buses on names of the test's own, removed afterwards, a
TCP proxy to take the broker away, queues looked at directly, the ops CLI, and billing in the
test's process (its harness: ``tests/support/billing.py``). Waiting for something is
``tests.support.polling.eventually``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest

from shared.bus import Bus, Topology
from shared.metrics import Metrics
from tests.support.billing import Billing
from tests.support.broker import delete_topology
from tests.support.payment_provider import PaymentProvider
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
