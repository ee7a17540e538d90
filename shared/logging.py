"""Structured JSON logs with a correlation id and a redaction step that keeps secrets out.

The correlation id lives in a contextvar: the HTTP middleware binds it from the
``X-Correlation-ID`` header, the consumer from the event's ``correlationid`` extension, and
every log line and every event written in that context carries it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from typing import Any

import structlog

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

REDACTED = "[redacted]"
# Keys whose values are secrets whatever they hold.
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|code|otp|link|url|authorization|cookie|jwt|pin|iban|card|pan",
    re.IGNORECASE,
)
_SAFE_KEYS = frozenset(
    {"event", "exc_info", "exception", "level", "timestamp", "logger", "correlation_id", "service", "status",
     "status_code", "event_type", "event_id", "route", "method", "duration_ms", "kind",
     "reason_code", "error_code", "http_status"}
)
# Values that look like secrets wherever they appear: bearer tokens, JWTs, URLs with a query.
_SECRET_VALUE = re.compile(
    r"(Bearer\s+\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*|https?://\S+[?#]\S*|https?://\S*/(verify|reset|invite|activate|accept|confirm)\S*)",
    re.IGNORECASE,
)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def redact(value: Any, key: str | None = None) -> Any:
    """Return ``value`` with secrets replaced, walking dicts and lists."""
    if key is not None and key not in _SAFE_KEYS and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def _redact_processor(_logger, _name, event_dict: dict) -> dict:
    return {k: redact(v, k) for k, v in event_dict.items()}


def _add_correlation_id(_logger, _name, event_dict: dict) -> dict:
    cid = correlation_id.get()
    if cid and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    return event_dict


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Set up structlog (and the standard library's loggers) for one service process."""
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_processor,
    ]
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level.upper())
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries log through the standard library: send them through the same redaction.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for noisy in ("aiormq", "aio_pika", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
