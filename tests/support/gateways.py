"""Local gateways for tests: an SMS gateway (JSON over HTTP, basic auth, idempotency keys, and
failures on demand: the first N requests answer 503, or every request a chosen status) and an
SMTP server whose mailbox keeps what it accepts."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestServer

from tests.support.polling import eventually


class SmsGateway:
    def __init__(self, *, fail_first: int = 0, fail_status: int = 503,
                 username: str = "", password: str = "") -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.credentials = encode_basic_auth(username, password) if username else None
        self.requests = 0
        self.messages: list[dict[str, Any]] = []  # accepted, one per idempotency key
        self._by_key: dict[str, str] = {}
        self._server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/v1/sms"))

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if (self.credentials is not None
                and request.headers.get("Authorization") != self.credentials):
                return web.json_response({"error": "unauthorized"}, status=401)
        if self.requests <= self.fail_first:
            return web.json_response({"error": "try again"}, status=self.fail_status)
        body = await request.json()
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        if key not in self._by_key:  # a repeated request is the same SMS
            self._by_key[key] = f"sms-{uuid.uuid4().hex[:12]}"
            self.messages.append({**body, "id": self._by_key[key]})
        return web.json_response({"id": self._by_key[key]}, status=202)

    async def start(self) -> SmsGateway:
        app = web.Application()
        app.router.add_post("/v1/sms", self._send)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def wait_for(self, count: int, seconds: float = 20) -> list[dict[str, Any]]:
        await eventually(lambda: len(self.messages) >= count, seconds,
                         message=lambda: f"{count} SMS; got {len(self.messages)}")
        return self.messages


class Mailbox:
    """aiosmtpd handler: keeps every accepted email, parsed; refuses recipients whose address
    starts with ``bounce`` (550) and defers those starting with ``busy`` (451)."""

    def __init__(self) -> None:
        import email
        import email.policy
        self._parse = lambda raw: email.message_from_bytes(raw, policy=email.policy.default)
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(self._parse(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, to: str, seconds: float = 30) -> EmailMessage:
        """The first email to ``to``, once it has arrived."""
        found = await eventually(lambda: self.to(to), seconds,
                                 message=lambda: f"an email to {to}; got "
                                 f"{[m['To'] for m in self.messages]}")
        return found[0]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free local port."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tests.support.processes import free_port
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
