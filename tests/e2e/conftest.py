"""End-to-end fixtures: the four services as real processes, an SMTP server that keeps what
it receives, and cleanup of every database and queue the run made."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from shared import mongo
from shared.bus import Topology
from tests.support.broker import delete_topology
from tests.support.processes import SERVICES, Platform, ServiceProcess, free_port, platform_env


class Inbox:
    """aiosmtpd handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    async def wait_for(self, to: str, seconds: float = 30) -> EmailMessage:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            for m in self.messages:
                if m["To"] == to:
                    return m
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no email to {to} within {seconds}s")
            await asyncio.sleep(0.1)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
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
        client = mongo.connect(mongo_url)
        for name in SERVICES:
            await client.drop_database(f"e2e_{unique}_{name}")
        await client.close()
        for name in SERVICES:
            await delete_topology(amqp_url, Topology(bus_prefix, name), [0.2, 0.5, 1.0])
