"""Adapter (the providers' outcomes): what a send through a provider can end in, and its trace
span (every transport's)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from opentelemetry.trace import Span, SpanKind

from shared import tracing


class DeliveryError(Exception):
    def __init__(self, reason: str, provider: str = "") -> None:
        super().__init__(reason)
        self.reason, self.provider = reason, provider


class TransientDeliveryError(DeliveryError):
    """Worth another attempt later (network, SMTP 4xx, HTTP 5xx or 429)."""


class PermanentDeliveryError(DeliveryError):
    """Will fail every time (SMTP 5xx, rejected recipient, HTTP 4xx)."""


def send_span(provider: str, channel: str, server: str | None = None,
               port: int | None = None) -> AbstractContextManager[Span | None]:
    """The span of one send through one provider (``smtp send``, ``sms-gateway send``…).
    No recipient and no content in it: the provider, the channel and the server only."""
    attributes: dict[str, str | int] = {"bap.notifications.provider": provider,
                                        "bap.notifications.channel": channel}
    if server:
        attributes["server.address"] = server
    if port:
        attributes["server.port"] = port
    return tracing.span(f"{provider} send", kind=SpanKind.CLIENT, attributes=attributes)
