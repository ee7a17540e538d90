"""Fixtures of the security tier: the platform as an attacker meets it — identity (and the
other services where a test needs them) on real sockets, with the real RabbitMQ and the
MongoDB wire server; every finding of issue 9 is proven here (see README.md beside this)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import identity_running

pytestmark = pytest.mark.security


@pytest.fixture
async def identity(mongo_url, amqp_url, bus_prefix, unique):
    """identity in this process on a free port: (url, app, event tap, http session)."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap:
        async with identity_running(mongo_url, amqp_url, bus_prefix, unique) as (url, app):
            async with aiohttp.ClientSession() as http:
                yield url, app, tap, http
