"""Adapter (the providers): ways a message leaves the platform, and the per-channel failover
between two providers.

    Email: SMTP (smtp.py: aiosmtplib, connections kept open), or ``.eml`` files (local default)
    SMS:   an HTTP gateway taking JSON, or ``.json`` files (local default)

Every provider error is translated here into one of two exceptions: ``TransientDeliveryError``
(worth another attempt: SMTP 4xx, network, timeouts, HTTP 5xx/429) and
``PermanentDeliveryError`` (fails every time: SMTP 5xx, HTTP 4xx).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from yarl import URL

from services.notifications.delivery_errors import (  # noqa: F401 (callers')
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from services.notifications.delivery_errors import send_span as _send_span
from services.notifications.domain.breaker import CircuitBreaker
from services.notifications.mail import Email, build_email, message_id_of  # noqa: F401
from services.notifications.settings import NotificationsSettings
from services.notifications.smtp import SmtpTransport
from shared.metrics import Metrics


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    text: str
    # The delivery id: the gateway's idempotency key, so a repeated request is one SMS.
    reference: str


class Transport(Protocol):
    name: str

    # Each transport takes its channel's message (an ``Email`` or an ``SmsMessage``).
    async def send(self, message: Any) -> str:
        """Send; return the provider's message id."""

    async def close(self) -> None: ...


class EmailFileTransport:
    """Writes each email as a real .eml file (the local default), named by its Message-ID (the
    delivery id): a repeated send replaces the file, as a provider honouring idempotency keys
    would drop the copy."""

    name = "email-file"

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    async def send(self, message: Email | EmailMessage) -> str:
        with _send_span(self.name, "email"):
            return await self._send(message)

    async def _send(self, message: Email | EmailMessage) -> str:
        message_id = message_id_of(message)

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written aside, then renamed: a reader never sees half a message.
            path = self.directory / f"{_file_name(message_id)}.eml"
            part = path.with_suffix(f".{uuid.uuid4().hex}.part")
            # Line ends as a file on this system has them (SMTP's CRLF only on the wire).
            part.write_bytes(message.data.replace(b"\r\n", b"\n")
                             if isinstance(message, Email) else bytes(message))
            part.replace(path)
        await asyncio.to_thread(write)
        return message_id

    async def close(self) -> None:
        pass


class SmsGateway:
    """An HTTP SMS gateway: ``POST <url>`` with JSON ``{from, to, text, reference}``, basic
    auth, ``Idempotency-Key: <reference>``; answers 2xx with ``{"id": ...}``."""

    def __init__(self, name: str, *, url: str, username: str, password: str, sender: str,
                 timeout: float) -> None:
        self.name = name
        self.url, self.sender = url, sender
        self.headers = ({"Authorization": aiohttp.encode_basic_auth(username, password)}
                        if username else {})
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: SmsMessage) -> str:
        # The gateway's host and port only: its URL's user info or query may hold credentials.
        url = URL(self.url)
        with _send_span(self.name, "sms", url.host, url.port):
            return await self._send(message)

    async def _send(self, message: SmsMessage) -> str:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        body = {"from": self.sender, "to": message.to, "text": message.text,
                "reference": message.reference}
        try:
            headers = {**self.headers, "Idempotency-Key": message.reference}
            async with self._session.post(self.url, json=body, headers=headers) as r:
                if r.status == 429 or r.status >= 500:
                    raise TransientDeliveryError(f"HTTP {r.status}", self.name)
                if r.status >= 400:
                    raise PermanentDeliveryError(f"HTTP {r.status}", self.name)
                try:
                    answer = await r.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    answer = {}
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise TransientDeliveryError(f"HTTP {type(e).__name__}", self.name) from None
        ident = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        return str(ident or message.reference)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _file_name(message_id: str | None) -> str:
    """A safe file name from a Message-ID (``<d-…@domain>`` → ``d-…``)."""
    local = (message_id or "").strip().strip("<>").partition("@")[0]
    name = "".join(c for c in local if c.isascii() and (c.isalnum() or c in "-_"))[:100]
    return name or uuid.uuid4().hex


class SmsFileTransport:
    """Writes each SMS as a .json file named by its reference (the delivery id): a repeated
    send replaces the file, as the gateway's idempotency key makes it one SMS."""

    name = "sms-file"

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    async def send(self, message: SmsMessage) -> str:
        with _send_span(self.name, "sms"):
            return await self._send(message)

    async def _send(self, message: SmsMessage) -> str:
        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{_file_name(message.reference)}.json"
            part = path.with_suffix(f".{uuid.uuid4().hex}.part")
            part.write_text(json.dumps(
                {"to": message.to, "text": message.text, "reference": message.reference},
                ensure_ascii=False))
            part.replace(path)
        await asyncio.to_thread(write)
        return message.reference

    async def close(self) -> None:
        pass


class DeliveryMetrics:
    """What ``/metrics`` counts of the sends: every attempt by channel, provider and outcome
    (``sent``, ``transient``, ``permanent``, ``error``), each failover to a secondary provider,
    and whether a secondary is in charge now. Labels: two channels, four providers at most."""

    def __init__(self, metrics: Metrics) -> None:
        self.attempts = metrics.counter(
            "notification_delivery_attempts_total",
            "Delivery attempts by channel (email, sms), provider and outcome (sent, transient, "
            "permanent, error)", ["channel", "provider", "outcome"])
        self.failovers = metrics.counter(
            "notification_failovers_total", "Times a channel's secondary provider took over "
            "(the primary kept failing and its circuit breaker opened)", ["channel"])
        self.secondary_active = metrics.gauge(
            "notification_secondary_provider_active", "1 while a channel sends through its "
            "secondary provider (circuit breaker open), else 0", ["channel"])


class Channel:
    """One channel's providers: the primary, and a secondary that takes over while the
    circuit breaker is open (the primary kept failing)."""

    def __init__(self, primary: Transport, secondary: Transport | None = None,
                 breaker: CircuitBreaker | None = None, *, name: str = "",
                 metrics: DeliveryMetrics | None = None) -> None:
        self.primary, self.secondary = primary, secondary
        self.breaker = breaker or CircuitBreaker()
        self.name, self.metrics = name, metrics
        if metrics is not None:
            metrics.secondary_active.labels(name).set_function(self._secondary_in_charge)

    def _secondary_in_charge(self) -> int:
        # Read on scrape without changing the breaker (``use_secondary`` half-opens it).
        opened = self.breaker.opened_at
        return int(self.secondary is not None and opened is not None
                   and time.monotonic() - opened < self.breaker.cooldown)

    async def send(self, message: Email | SmsMessage) -> tuple[str, str]:
        """Send through the provider in charge now; returns (provider name, message id)."""
        if self.secondary is not None and self.breaker.use_secondary(time.monotonic()):
            return self.secondary.name, await self._attempt(self.secondary, message)
        try:
            ident = await self._attempt(self.primary, message)
        except TransientDeliveryError:
            was_open = self.breaker.opened_at is not None
            self.breaker.failed(time.monotonic())
            if (self.metrics is not None and self.secondary is not None and not was_open
                    and self.breaker.opened_at is not None):
                self.metrics.failovers.labels(self.name).inc()
            raise
        self.breaker.succeeded()
        return self.primary.name, ident

    async def _attempt(self, transport: Transport, message: Email | SmsMessage) -> str:
        """One send through ``transport``, counted by its outcome."""
        outcome = "error"
        try:
            ident = await transport.send(message)
            outcome = "sent"
            return ident
        except TransientDeliveryError:
            outcome = "transient"
            raise
        except PermanentDeliveryError:
            outcome = "permanent"
            raise
        except asyncio.CancelledError:
            outcome = ""  # stopped mid-send: no outcome to count
            raise
        finally:
            if self.metrics is not None and outcome:
                self.metrics.attempts.labels(self.name, transport.name, outcome).inc()

    async def close(self) -> None:
        await self.primary.close()
        if self.secondary is not None:
            await self.secondary.close()


def email_channel(s: NotificationsSettings, metrics: DeliveryMetrics | None = None) -> Channel:
    if not s.smtp_host:
        return Channel(EmailFileTransport(s.mail_dir), name="email", metrics=metrics)
    primary = SmtpTransport("smtp", host=s.smtp_host, port=s.smtp_port,
                            username=s.smtp_username,
                            password=s.smtp_password.get_secret_value(),
                            starttls=s.smtp_starttls, tls=s.smtp_tls,
                            timeout=s.smtp_timeout_seconds, connections=s.smtp_connections)
    secondary = None
    if s.smtp_secondary_host:
        secondary = SmtpTransport(
            "smtp-secondary", host=s.smtp_secondary_host, port=s.smtp_secondary_port,
            username=s.smtp_secondary_username,
            password=s.smtp_secondary_password.get_secret_value(),
            starttls=s.smtp_secondary_starttls, tls=s.smtp_secondary_tls,
            timeout=s.smtp_timeout_seconds, connections=s.smtp_connections)
    return Channel(primary, secondary, _breaker(s), name="email", metrics=metrics)


def sms_channel(s: NotificationsSettings, metrics: DeliveryMetrics | None = None) -> Channel:
    if not s.sms_gateway_url:
        return Channel(SmsFileTransport(s.sms_dir), name="sms", metrics=metrics)
    primary = SmsGateway("sms-gateway", url=s.sms_gateway_url,
                         username=s.sms_gateway_username,
                         password=s.sms_gateway_password.get_secret_value(),
                         sender=s.sms_sender, timeout=s.sms_timeout_seconds)
    secondary = None
    if s.sms_gateway_secondary_url:
        secondary = SmsGateway("sms-gateway-secondary", url=s.sms_gateway_secondary_url,
                               username=s.sms_gateway_secondary_username,
                               password=s.sms_gateway_secondary_password.get_secret_value(),
                               sender=s.sms_sender, timeout=s.sms_timeout_seconds)
    return Channel(primary, secondary, _breaker(s), name="sms", metrics=metrics)


def _breaker(s: NotificationsSettings) -> CircuitBreaker:
    return CircuitBreaker(threshold=s.failover_after_failures, window=s.failover_window_seconds,
                          cooldown=s.failover_cooldown_seconds)
