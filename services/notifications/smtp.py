"""Adapter (an SMTP provider): email over SMTP (aiosmtplib: TLS/STARTTLS, auth, timeouts)
through connections kept open."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage

import aiosmtplib

from services.notifications.delivery_errors import (
    PermanentDeliveryError,
    TransientDeliveryError,
    send_span,
)
from services.notifications.mail import Email, message_id_of


class SmtpTransport:
    """SMTP over a few connections kept open (``connections``): a message costs MAIL, RCPT and
    DATA, not also the connect, EHLO, STARTTLS, AUTH and QUIT of a connection of its own. One
    send at a time per connection; one is given up after any error (its state is unknown),
    when the server closed it, after ``idle_seconds`` unused (RFC 5321 servers wait 5 minutes
    at least) and after ``messages_per_connection``."""

    def __init__(self, name: str, *, host: str, port: int, username: str, password: str,
                 starttls: bool, tls: bool, timeout: float, connections: int = 8,
                 idle_seconds: float = 30.0, messages_per_connection: int = 100) -> None:
        self.name = name
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.tls, self.timeout = starttls, tls, timeout
        self.idle_seconds, self.messages_per_connection = idle_seconds, messages_per_connection
        self._slots = asyncio.Semaphore(max(1, connections))
        self._idle: list[tuple[aiosmtplib.SMTP, float, int]] = []  # (client, used at, sent)

    async def send(self, message: Email | EmailMessage) -> str:
        with send_span(self.name, "email", self.host, self.port):
            return await self._send(message)

    async def _connection(self, *, fresh: bool = False) -> tuple[aiosmtplib.SMTP, int]:
        """A kept connection still open (with the messages sent on it), or a new one."""
        now = time.monotonic()
        while self._idle:
            client, used_at, sent = self._idle.pop()
            if not fresh and client.is_connected and now - used_at < self.idle_seconds:
                return client, sent
            client.close()
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, username=self.username or None,
            password=self.password or None, start_tls=self.starttls or None,
            use_tls=self.tls, timeout=self.timeout)
        await client.connect()
        return client, 0

    async def _send(self, message: Email | EmailMessage) -> str:
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client, sent = await self._connection()
                if not isinstance(message, Email):
                    await client.send_message(message)
                else:
                    options = [] if (message.sender + message.recipient).isascii() \
                        else ["SMTPUTF8"]
                    try:
                        await client.mail(message.sender, options=options)
                    except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                        if not sent:
                            raise
                        # The server closed the kept connections (a restart, an idle
                        # timeout) just before: nothing went out yet; a new one sends it.
                        client.close()
                        client, sent = await self._connection(fresh=True)
                        await client.mail(message.sender, options=options)
                    try:
                        await client.rcpt(message.recipient)
                    except aiosmtplib.SMTPRecipientRefused as e:  # as SMTP.sendmail says it
                        raise aiosmtplib.SMTPRecipientsRefused([e]) from None
                    await client.data(message.data)
            except BaseException as e:
                if client is not None:
                    client.close()  # mid-conversation: its state is unknown, never reused
                _raise_delivery_error(e, self.name)
                raise
            if sent + 1 < self.messages_per_connection:
                self._idle.append((client, time.monotonic(), sent + 1))
            else:
                await _quit(client)
        return message_id_of(message)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _, _ in idle:
            await _quit(client)


def _raise_delivery_error(e: BaseException, provider: str) -> None:
    """Raise the delivery error an SMTP failure means (nothing for other exceptions)."""
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in e.recipients]
        if codes and all(400 <= c < 500 for c in codes):
            raise TransientDeliveryError(f"SMTP {codes[0]} recipient deferred",
                                         provider) from None
        raise PermanentDeliveryError(f"SMTP {codes[0] if codes else 550} recipient refused",
                                     provider) from None
    if isinstance(e, aiosmtplib.SMTPResponseException):
        if 400 <= e.code < 500:
            raise TransientDeliveryError(f"SMTP {e.code}", provider) from None
        raise PermanentDeliveryError(f"SMTP {e.code}", provider) from None
    if isinstance(e, (aiosmtplib.SMTPException, OSError, TimeoutError)):
        raise TransientDeliveryError(f"SMTP {type(e).__name__}", provider) from None


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
