"""notifications as tests meet it: the real app in the test's process with a real SMTP server
and the tests' token authority playing identity."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from services.notifications.app import build
from services.notifications.settings import NotificationsSettings
from tests.support.gateways import SmtpServer
from tests.support.services import running, settings_for
from tests.support.tokens import TokenAuthority

COMPANY_A, COMPANY_B = "c-a", "c-b"


@contextlib.asynccontextmanager
async def service(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str, tmp_path: Path,
                  **extra: Any) -> AsyncIterator[
                      tuple[TestServer, aiohttp.ClientSession, TokenAuthority, SmtpServer]]:
    """notifications with a real SMTP server and a JWKS server of a test signing authority."""
    async with TokenAuthority.serving() as authority:
        with SmtpServer() as smtp:
            s = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                             bus_prefix=bus_prefix, unique=unique, smtp_host="127.0.0.1",
                             smtp_port=smtp.port, sms_dir=str(tmp_path / "sms"),
                             portal_base_url="https://portal.test",
                             **{"jwks_url": authority.jwks_url, **extra})
            async with running(build, s) as server, aiohttp.ClientSession(
                    base_url=str(server.make_url("/"))) as http:
                yield server, http, authority, smtp
