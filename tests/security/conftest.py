"""Fixtures of the security tier: the platform as an attacker meets it — identity (and the
other services where a test needs them) on real sockets, with the real RabbitMQ and the
MongoDB wire server; every finding of issue 9 is proven here (see README.md beside this).

identity in this process is the shared ``identity`` fixture (``tests/conftest.py``); a module
sets its settings with ``pytest.mark.identity_settings(...)``. ``identity_process`` is identity
as a real process of its own (its memory, CPU and log can be measured alone); a module adds to
its environment with ``pytest.mark.identity_env(NAME="value")``.
"""

from __future__ import annotations

from typing import NamedTuple

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.processes import ServiceProcess, service_process

pytestmark = pytest.mark.security


class ProcessUnderTest(NamedTuple):
    """identity as a process: ``service, tap, http = identity_process``."""

    service: ServiceProcess
    tap: EventTap
    http: aiohttp.ClientSession


@pytest.fixture
async def identity_process(request: pytest.FixtureRequest, mongo_url, amqp_url, bus_prefix,
                           unique, tmp_path):
    """identity as a process of its own (``python -m services.identity``) with its JSON log
    file, a tap on its events and an HTTP session."""
    marker = request.node.get_closest_marker("identity_env")
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap,
                service_process("identity", mongo_url=mongo_url, amqp_url=amqp_url,
                                bus_prefix=bus_prefix, db_prefix=f"sec_{unique}",
                                log_path=tmp_path / "identity.log",
                                extra=dict(marker.kwargs) if marker else {}) as service,
                aiohttp.ClientSession() as http):
        yield ProcessUnderTest(service, tap, http)
