"""Sending over SMTP: a few connections kept open and reused, replaced when the server has
closed one. A real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio

import pytest

from services.notifications.mail import build_email
from services.notifications.messages import Rendered
from services.notifications.transports import SmtpTransport
from tests.support.gateways import Mailbox, SmtpServer

pytestmark = pytest.mark.integration


class CountingMailbox(Mailbox):
    """Counts the SMTP sessions opened (one EHLO each)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses


def counting_server() -> SmtpServer:
    smtp = SmtpServer()
    smtp.mailbox = CountingMailbox()
    smtp.controller.handler = smtp.mailbox
    return smtp


def message(to: str):
    return build_email("Portal <no-reply@business.example>", to,
                       Rendered(subject="Hallo", text="Text", html="<p>Text</p>", language="de"),
                       f"d-{to.partition('@')[0]}")


def transport(port: int, connections: int) -> SmtpTransport:
    return SmtpTransport("smtp", host="127.0.0.1", port=port, username="", password="",
                         starttls=False, tls=False, timeout=10, connections=connections)


async def test_emails_go_over_a_few_kept_smtp_connections_not_one_each() -> None:
    with counting_server() as smtp:
        smtp_transport = transport(smtp.port, connections=2)
        try:
            ids = await asyncio.gather(*(smtp_transport.send(message(f"user{i}@example.com"))
                                         for i in range(20)))
        finally:
            await smtp_transport.close()
        assert sorted(m["To"] for m in smtp.mailbox.messages) == sorted(
            f"user{i}@example.com" for i in range(20))
        assert sorted(ids) == sorted(m["Message-ID"] for m in smtp.mailbox.messages)
        assert 1 <= smtp.mailbox.sessions <= 2


async def test_a_connection_the_server_closed_is_replaced_and_the_email_still_sent() -> None:
    with counting_server() as first:
        port = first.port
        smtp_transport = transport(port, connections=1)
        await smtp_transport.send(message("before@example.com"))
    # The server went away (a restart) while the connection was kept: the next send opens a
    # new one instead of failing on the dead one.
    second = counting_server()
    second.controller.port = port
    with second:
        try:
            await smtp_transport.send(message("after@example.com"))
        finally:
            await smtp_transport.close()
        assert [m["To"] for m in second.mailbox.messages] == ["after@example.com"]
