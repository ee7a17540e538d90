"""Ways an email leaves the platform: SMTP, or ``.eml`` files when no SMTP server is set."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from services.notifications.messages import RenderedEmail
from services.notifications.settings import NotificationsSettings


class TransientDeliveryError(Exception):
    """Worth another attempt later (network, SMTP 4xx)."""


class PermanentDeliveryError(Exception):
    """Will fail every time (SMTP 5xx, rejected recipient)."""


class EmailTransport(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Send; return the provider's message id."""


def build_email(sender: str, recipient: str, rendered: RenderedEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Content-Language"] = rendered.language
    message["Message-ID"] = make_msgid(domain="business.example")
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class SmtpTransport:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> str:
        s = self.settings
        try:
            await aiosmtplib.send(
                message, hostname=s.smtp_host, port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password.get_secret_value() or None,
                start_tls=s.smtp_starttls or None, use_tls=s.smtp_tls,
                timeout=s.smtp_timeout_seconds)
        except aiosmtplib.SMTPResponseException as e:
            if 400 <= e.code < 500:
                raise TransientDeliveryError(f"SMTP {e.code}") from None
            raise PermanentDeliveryError(f"SMTP {e.code}") from None
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as e:
            raise TransientDeliveryError(type(e).__name__) from None
        return str(message["Message-ID"])


class FileTransport:
    """Writes each email as a real .eml file (the local default)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    async def send(self, message: EmailMessage) -> str:
        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{uuid.uuid4().hex}.eml"
            path.write_bytes(bytes(message))
        await asyncio.to_thread(write)
        return str(message["Message-ID"])


def email_transport(settings: NotificationsSettings) -> EmailTransport:
    return SmtpTransport(settings) if settings.smtp_host else FileTransport(settings.mail_dir)
