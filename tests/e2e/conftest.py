"""End-to-end fixtures: the four services as real processes, an SMTP server that keeps what
it receives, and cleanup of every database and queue the run made; below, the fixtures of
single test modules (an OTLP receiver, the support client, draining notifications replicas)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from aiosmtpd.controller import Controller

from shared import mongo
from shared.bus import Topology
from tests.support.broker import delete_topology
from tests.support.drain import CLAIM_SECONDS, GRACE_SECONDS, RETRY_DELAYS, SlowingInbox
from tests.support.gateways import Mailbox
from tests.support.otlp import OtlpReceiver
from tests.support.processes import (
    SERVICES,
    Platform,
    ServiceProcess,
    free_port,
    platform_env,
    remove_traces,
)
from tests.support.support_desk import SUPPORT_CLIENT, SUPPORT_SECRET, every_scope


@pytest.fixture
def smtp_server():
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def platform_extra_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings a test module adds to every service's environment: those of the fixture its
    ``@pytest.mark.platform_env("<fixture>")`` names (below), or none."""
    marker = request.node.get_closest_marker("platform_env")
    return request.getfixturevalue(marker.args[0]) if marker else {}


@pytest.fixture
async def platform(mongo_url, amqp_url, bus_prefix, unique, smtp_server, tmp_path,
                   platform_extra_env):
    controller, _ = smtp_server
    ports = {name: free_port() for name in SERVICES}
    env = platform_env(mongo_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                       db_prefix=f"e2e_{unique}", ports=ports, extra={
                           "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                           "NOTIFICATIONS_SMTP_PORT": str(controller.port),
                           "NOTIFICATIONS_PORTAL_BASE_URL": "https://portal.test",
                           **platform_extra_env,
                       })
    p = Platform({name: ServiceProcess(name, ports[name], env, tmp_path / f"{name}.log")
                  for name in SERVICES})
    try:
        for s in p.services.values():
            s.start()
        for s in p.services.values():
            await s.wait_ready()
        yield p
    finally:
        for s in p.services.values():
            s.stop()
        await remove_traces(mongo_url, amqp_url, bus_prefix, f"e2e_{unique}")


# -- fixtures one test module uses (named in the docstring) ---------------------------------

@pytest.fixture
async def otlp() -> AsyncIterator[OtlpReceiver]:
    """(test_tracing.py) The receiver the services export their spans to."""
    receiver = OtlpReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def otlp_export_env(otlp: OtlpReceiver) -> dict[str, str]:
    """(test_tracing.py) The services export to ``otlp``."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp.port}",
            # Exported within a fifth of a second (the default waits five).
            "OTEL_BSP_SCHEDULE_DELAY": "200"}


@pytest.fixture
def support_desk_env() -> dict[str, str]:
    """(test_schemathesis.py) Identity knows the support client, allowed every scope."""
    return {"IDENTITY_INTERNAL_CLIENTS": json.dumps([{
        "client_id": SUPPORT_CLIENT, "scopes": every_scope(),
        "secret_sha256": hashlib.sha256(SUPPORT_SECRET.encode()).hexdigest()}])}


@pytest.fixture
def slowing_smtp() -> Iterator[tuple[Controller, SlowingInbox]]:
    """(test_graceful_drain.py) An SMTP server that turns slow when told."""
    inbox = SlowingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
async def replicas(mongo_url, amqp_url, bus_prefix, unique, slowing_smtp, tmp_path):
    """(test_graceful_drain.py) Two notifications workers sharing one queue and database,
    sending through ``slowing_smtp``; afterwards their database and queues removed."""
    controller, _ = slowing_smtp
    database = f"e2e_{unique}_notifications"
    ports = {name: free_port() for name in ("identity", "billing", "contracts",
                                            "notifications")}
    base = platform_env(mongo_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                        db_prefix=f"e2e_{unique}", ports=ports, extra={
                            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                            "NOTIFICATIONS_SMTP_PORT": str(controller.port),
                            "NOTIFICATIONS_CLAIM_SECONDS": str(CLAIM_SECONDS),
                            "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
                            "BAP_DEV_MODE": "true", "LOG_LEVEL": "INFO"})
    workers = [ServiceProcess("notifications", port,
                              {**base, "NOTIFICATIONS_HTTP_PORT": str(port)},
                              tmp_path / f"notifications-{n}.log")
               for n, port in enumerate((ports["notifications"], free_port()))]
    try:
        for w in workers:
            w.start()
        for w in workers:
            await w.wait_ready()
        yield workers, database
    finally:
        for w in workers:
            w.stop()
        client = mongo.connect(mongo_url)
        await client.drop_database(database)
        await client.close()
        await delete_topology(amqp_url, Topology(bus_prefix, "notifications"), RETRY_DELAYS)
