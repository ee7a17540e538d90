"""End-to-end fixtures: the four services as real processes, an SMTP server that keeps what
it receives, and cleanup of every database and queue the run made."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from tests.support.gateways import Mailbox
from tests.support.processes import (
    SERVICES,
    Platform,
    ServiceProcess,
    free_port,
    platform_env,
    remove_traces,
)


@pytest.fixture
def smtp_server():
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def platform_extra_env() -> dict[str, str]:
    """Settings a test module adds to every service's environment (override it there)."""
    return {}


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
