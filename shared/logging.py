"""Structured JSON logs with a correlation id and a redaction step that keeps secrets out.

The correlation id lives in a contextvar: the HTTP middleware binds it from the
``X-Correlation-ID`` header, the consumer from the event's ``correlationid`` extension, and
every log line and every event written in that context carries it. A line written while a
span is recording (tracing on, see ``shared.tracing``) also carries ``trace_id`` and
``span_id``, so a trace leads to its log lines and back.
"""

from __future__ import annotations

import contextvars
import dataclasses
import itertools
import logging
import re
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from pydantic import BaseModel
from structlog.typing import EventDict, Processor

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

REDACTED = "[redacted]"
# A key is secret when one of its words is one of these, whatever its value holds. Words, not
# substrings: "company" holds "pan", "shipping" holds "pin", "postcode" holds "code".
_SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "token", "code",
    "otp", "link", "url", "uri", "authorization", "cookie", "jwt", "pin", "iban", "card",
    "pan", "cvc", "cvv", "credentials", "apikey", "pem",
})
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("signing", "key"),
                           ("access", "key"), ("session", "id")})
_SAFE_KEYS = frozenset(
    {"event", "exc_info", "exception", "level", "timestamp", "logger", "correlation_id", "service",
     "status", "status_code", "event_type", "event_id", "route", "method", "duration_ms", "kind",
     "reason_code", "error_code", "http_status", "token_type", "country_code", "currency_code",
     "language_code", "stack_info", "trace_id", "span_id"}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
# Values that look like secrets wherever they appear: bearer/basic credentials, JWTs, URLs
# with a query or fragment, links that carry a one-time secret in their path.
_SECRET_VALUE = re.compile(
    r"\bBearer\s+[A-Za-z0-9\-._~+/]+=*"
    r"|\bBasic\s+[A-Za-z0-9+/]+=*"
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]*"
    r"|\bhttps?://[^\s?#]*[?#]\S*"
    r"|\bhttps?://\S*/(?:verify|reset|invite|activate|accept|confirm)\S*",
    re.IGNORECASE,
)
# "password=…", "token: …", "?code=…" inside free text: the name stays, the value goes.
_SECRET_ASSIGNMENT = re.compile(
    r"(\b(?:\w+_)?(?:password|passwd|pwd|secret|token|code|otp|pin|api_?key|authorization"
    r"|cookie|jwt)[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;]+)",
    re.IGNORECASE,
)
# The password of a URL's user info (amqp://user:password@host).
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(@)", re.IGNORECASE)
_MAX_DEPTH = 20


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def is_secret_key(key: str) -> bool:
    """Whether a field of this name holds a secret whatever its value."""
    if key in _SAFE_KEYS:
        return False
    words = [w.lower() for w in _WORD.findall(key)]
    return any(w in _SECRET_WORDS for w in words) or any(
        pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def redact_text(text: str) -> str:
    """``text`` with credentials, tokens and secret-carrying URLs replaced."""
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}\2", text)
    text = _SECRET_VALUE.sub(REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(rf"\1{REDACTED}", text)


def redact(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """Return ``value`` with secrets replaced, walking dicts, lists and models."""
    if key is not None and is_secret_key(key):
        return REDACTED
    if _depth > _MAX_DEPTH:
        return "[too deep]"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, None, _depth + 1) for v in value]
    if isinstance(value, BaseModel):
        try:
            return redact(value.model_dump(mode="json"), None, _depth + 1)
        except Exception:  # a log call must never fail: fall back to the redacted repr
            return redact_text(repr(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Shallow, field by field: dataclasses.asdict would deep-copy whatever they hold.
        return redact({f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
                      None, _depth + 1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    # Anything else would be rendered with repr(), which may spell out its secrets.
    return redact_text(repr(value))


_BRIDGE_KEYS = frozenset({"_record", "_from_structlog"})  # structlog's stdlib bridge


def _redact_processor(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    return {k: v if k in _BRIDGE_KEYS else redact(v, k) for k, v in event_dict.items()}


def _print_logger_factory(out: TextIO) -> Callable[..., structlog.PrintLogger]:
    # PrintLoggerFactory drops get_logger's name; keep it on the logger for _add_logger_name.
    def factory(*args: Any) -> structlog.PrintLogger:
        logger = structlog.PrintLogger(out)
        logger.name = str(args[0]) if args else None  # type: ignore[attr-defined]
        return logger
    return factory


def _add_logger_name(logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", None)
    if name and "logger" not in event_dict:
        event_dict["logger"] = name
    return event_dict


def _add_correlation_id(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    cid = correlation_id.get()
    if cid and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    return event_dict


def _add_trace_ids(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    # The current span's ids, as trace back ends show them (hex); none while tracing is off.
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid and "trace_id" not in event_dict:
        event_dict["trace_id"] = format(span_context.trace_id, "032x")
        event_dict["span_id"] = format(span_context.span_id, "016x")
    return event_dict


def configure_logging(service: str, level: str = "INFO", fmt: str = "json",
                      stream: TextIO | None = None) -> None:
    """Set up structlog (and the standard library's loggers) for one service process.

    Every line goes to ``stream`` (standard error by default) as one JSON object, with the
    correlation id of its context and every secret redacted."""
    out = stream if stream is not None else sys.stderr
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        _add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_processor,
    ]
    structlog.configure(
        processors=[_add_logger_name, *shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_print_logger_factory(out),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries log through the standard library: send them through the same redaction.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries are chatty below WARNING; a stricter service level applies to them too.
    root.setLevel(max(logging.WARNING, numeric_level))
    for noisy in ("aiormq", "aio_pika", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` appears as ``logger`` on each of its lines."""
    return structlog.get_logger(name) if name else structlog.get_logger()
