"""One consumed delivery, whatever the bus: decoding it, the context its handler runs in, and
what becomes of it when the handler fails (a later attempt, or parking with a reason).

Both buses (``shared.bus.rabbitmq``, ``shared.bus.memory``) settle deliveries through these
functions, so an event is parked for the same reason, with the same headers and log lines,
on either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from structlog.contextvars import bound_contextvars

from shared import tracing
from shared.bus.protocol import ParkReason, Subscription
from shared.errors import PermanentEventError
from shared.events import CloudEvent
from shared.logging import correlation_id, get_logger

log = get_logger("bus")


class Park(Exception):
    """The delivery can not be handled at all: park it with ``reason``."""

    def __init__(self, reason: ParkReason, detail: str, event_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.event_type = reason, detail, event_type


def validation_detail(exc: ValidationError) -> str:
    """Validation errors as ``field: rule (message)``, one per line, input values left out."""
    return "\n".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['type']} ({e['msg']})"
        for e in exc.errors(include_input=False, include_url=False)
    )


def attempts_of(headers: Mapping[str, Any] | None) -> int:
    """The ``x-attempts`` header: how many times the event failed before."""
    value: Any = (headers or {}).get("x-attempts", 0)
    return int(value or 0)


@dataclass(frozen=True)
class Decoded:
    """A delivery that can be handled: the envelope, its ``data`` as the subscription's
    model, and the subscription."""

    event: CloudEvent
    data: BaseModel
    subscription: Subscription[Any]


def decode(body: bytes, subscriptions: Mapping[str, Subscription[Any]], *, max_bytes: int,
           service: str) -> Decoded:
    """The delivery's envelope and data; raises ``Park`` with the reason it can not be."""
    if len(body) > max_bytes:
        raise Park("too-large", f"{len(body)} bytes; the limit is {max_bytes}")
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Park("not-json", str(e)) from None
    except RecursionError:
        # Deeply nested input ("[[[[..."): park it now, never let it escape as a crash
        # that returns the message to the queue until the broker drops it.
        raise Park("not-json", "nested deeper than the JSON parser allows") from None
    if not isinstance(raw, dict):
        raise Park("not-an-envelope", "the body is JSON but not an object")
    try:
        event = CloudEvent.model_validate(raw)
    except ValidationError as e:
        etype = raw.get("type") if isinstance(raw.get("type"), str) else None
        raise Park("invalid-envelope", validation_detail(e), etype) from None
    sub = subscriptions.get(event.type)
    if sub is None:
        raise Park("unknown-type", f"{service} does not consume {event.type}", event.type)
    try:
        data = sub.model.model_validate(event.data)
    except ValidationError as e:
        raise Park("invalid-data", validation_detail(e), event.type) from None
    return Decoded(event, data, sub)


@contextmanager
def handling(event: CloudEvent, headers: Mapping[str, Any] | None, queue: str) -> Iterator[None]:
    """The context a handler runs in: the event's correlation id, its trace, and its type
    and id on every log line."""
    token = correlation_id.set(event.correlationid or event.id)
    try:
        with (tracing.processing(event, headers, queue),
              bound_contextvars(event_type=event.type, event_id=event.id)):
            yield
    finally:
        correlation_id.reset(token)


@dataclass(frozen=True)
class Retry:
    """Try again after ``delay`` seconds; ``attempts`` counts this failure."""

    delay: float
    attempts: int
    detail: str


@dataclass(frozen=True)
class Parking:
    """Park the event with ``reason``; ``attempts`` the handler had."""

    reason: ParkReason
    detail: str
    attempts: int


def after_failure(exc: Exception, attempts: int, retry_delays: Sequence[float]) -> Retry | Parking:
    """What becomes of an event whose handler raised ``exc`` after ``attempts`` earlier
    failures (called inside ``handling``, so the log lines name the event)."""
    tracing.failed(exc)
    if isinstance(exc, PermanentEventError):
        log.warning("event rejected", reason_code="rejected", error=str(exc))
        return Parking("rejected", str(exc), attempts)
    detail = f"{type(exc).__name__}: {exc}"
    if attempts < len(retry_delays):
        delay = retry_delays[attempts]
        log.warning("event handler failed; retrying", attempt=attempts + 1,
                    delay_s=delay, error=detail[:500])
        return Retry(delay, attempts + 1, detail)
    log.error("event handler kept failing; parking", attempts=attempts + 1, error=detail[:500])
    return Parking("handler-failed", detail, attempts + 1)


def retry_headers(retry: Retry) -> dict[str, Any]:
    """The headers the copy sent to a later attempt carries."""
    return {"x-attempts": retry.attempts, "x-last-error": retry.detail[:1000]}


def park_headers(reason: str, detail: str, attempts: int, service: str,
                 routing_key: str) -> dict[str, Any]:
    """The headers a parked event carries: why, after how many attempts, when and by whom."""
    log.warning("event parked", reason_code=reason, detail=detail[:500])
    return {
        "x-park-reason": reason,
        "x-park-detail": detail[:8000],
        "x-park-attempts": attempts,
        "x-parked-at": time.time(),
        "x-parked-by": service,
        "x-original-routing-key": routing_key,
    }


def type_label(etype: str, subscriptions: Mapping[str, Subscription[Any]]) -> str:
    """The type as a metric label: a subscribed type, else ``other`` (a message may claim
    any type; the label set stays bounded by what the service consumes)."""
    return etype if etype in subscriptions else "other"


def subscribe(subscribed: dict[str, Subscription[Any]],
              subscriptions: Sequence[Subscription[Any]]) -> None:
    """Add ``subscriptions`` to ``subscribed`` (by type); a type subscribed twice is an error."""
    for s in subscriptions:
        if s.type in subscribed:
            raise ValueError(f"{s.type} is subscribed twice")
        subscribed[s.type] = s
