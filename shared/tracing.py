"""Traces (OpenTelemetry): one trace from the HTTP request to the SMTP or SMS send.

Off unless an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``): then ``configure`` installs the SDK with the OTLP/HTTP
exporter and the maintained instrumentations (aiohttp server and client, aio-pika, pymongo).
Everything else is read by the SDK from the standard ``OTEL_*`` variables (service name and
resource attributes, sampler, batch processor, exporter headers, timeout and compression).
Without an endpoint nothing is instrumented and the kit's spans are the API's no-op spans.

How the context crosses the bus:

* ``make_event`` writes the current W3C context into the envelope as the CloudEvents
  distributed-tracing extension (``traceparent``, ``tracestate``): the context in which the
  event was created, kept with it in the outbox and never changed afterwards.
* The relay runs with instrumentation suppressed (its polls are no one's trace). Each publish
  (``publishing``) continues the event's own context: a ``publish <type>`` span, whose context
  also goes into the message's AMQP headers (the transport hop; aio-pika's instrumentation
  adds its send span under it and puts that in the headers instead).
* A consumer (``processing``) continues the hop in the headers (aio-pika's receive span) or,
  when the message carries none, the envelope's context: a ``process <type>`` span, inside
  which the handler's MongoDB commands, sends and new events happen.
* A write serving several aggregates at once (the relay's removal of published events) is a
  span of its own with a link to each event's trace (``batch``).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.logging import get_logger

log = get_logger("tracing")

TRACER_NAME = "bap"
# The CloudEvents extension is W3C trace context whatever OTEL_PROPAGATORS says.
_W3C = TraceContextTextMapPropagator()
_EVENT_KEYS = ("traceparent", "tracestate")
# Health probes and metric scrapes would be most of the spans and tell nothing.
DEFAULT_EXCLUDED_URLS = r"^/health/,^/metrics$,^/openapi\.json$,^/docs(/|$)"
# Span attributes holding a URL or its query: a query may name a person (a recipient search)
# or carry a credential, so only its keys' presence is kept ("?[redacted]").
_URL_ATTRIBUTES = ("http.target", "http.url", "url.full")
_QUERY_ATTRIBUTES = ("url.query",)

_tracer: trace.Tracer = trace.get_tracer(TRACER_NAME)
_enabled = False


def endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP endpoint traces go to, or None: tracing is off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if exporter not in ("", "otlp"):
        return None  # "none", or an exporter this image does not ship
    return (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None)


def configure(service: str, role: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the SDK, the OTLP/HTTP exporter and the instrumentations, once per process,
    before the app is created; returns whether tracing is on."""
    if _enabled or endpoint(environ) is None:
        return _enabled
    # Imported here: a process without tracing never loads the SDK or the instrumentations.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    env = os.environ if environ is None else environ
    attributes = {"service.namespace": "bap", "bap.role": role}
    if not env.get("OTEL_SERVICE_NAME"):  # the standard variable wins over our default
        attributes["service.name"] = service
    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; the sampler
    # (OTEL_TRACES_SAMPLER) and the batch processor (OTEL_BSP_*) read theirs too.
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(query_redactor())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Read by the server instrumentation when it is installed: a default, not an override.
    os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS)
    # web.Application is replaced by an instrumented subclass: before create_app.
    AioHttpServerInstrumentor().instrument(tracer_provider=provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    AioPikaInstrumentor().instrument(tracer_provider=provider)
    # Statements are never captured (capture_statement=False): filters hold logins and codes.
    PymongoInstrumentor().instrument(tracer_provider=provider)
    use(provider)
    log.info("tracing on", endpoint=endpoint(environ), role=role)
    return True


def query_redactor() -> Any:
    """A span processor (first in line) that takes query strings out of the URL attributes
    the HTTP instrumentations set when they start a span."""
    from opentelemetry.sdk.trace import SpanProcessor

    class QueryRedactor(SpanProcessor):
        def on_start(self, span: Any, parent_context: Context | None = None) -> None:
            attributes = span.attributes or {}
            for key in _URL_ATTRIBUTES:
                value = attributes.get(key)
                if isinstance(value, str) and "?" in value:
                    span.set_attribute(key, value.partition("?")[0] + "?[redacted]")
            for key in _QUERY_ATTRIBUTES:
                if attributes.get(key):
                    span.set_attribute(key, "[redacted]")

    return QueryRedactor()


def use(provider: trace.TracerProvider | None) -> None:
    """The provider the kit's own spans come from (``configure`` sets it; a test passes one
    with an in-memory exporter, None turns the kit's spans off again)."""
    global _tracer, _enabled
    _enabled = provider is not None
    _tracer = (provider.get_tracer(TRACER_NAME) if provider is not None
               else trace.get_tracer(TRACER_NAME))


def enabled() -> bool:
    return _enabled


# -- the context in the envelope -----------------------------------------------------------
def event_attributes() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span, for a new envelope; empty
    when no span is recording (tracing off)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return {k: carrier[k] for k in _EVENT_KEYS if carrier.get(k)}


def event_context(event: Mapping[str, Any] | Any) -> Context:
    """The context an event was created in (a fresh one when it carries none). Fresh, not
    derived from the current one: the relay's suppression must not reach the publish."""
    carrier: dict[str, str] = {}
    for key in _EVENT_KEYS:
        value = event.get(key) if isinstance(event, Mapping) else getattr(event, key, None)
        if isinstance(value, str) and value:
            carrier[key] = value
    return _W3C.extract(carrier, context=Context())


def event_links(events: Iterable[Mapping[str, Any]]) -> list[Link]:
    """One link per distinct creation context of ``events`` (those that carry one)."""
    if not _enabled:
        return []
    links: dict[tuple[int, int], Link] = {}
    for event in events:
        span_context = trace.get_current_span(event_context(event)).get_span_context()
        if span_context.is_valid:
            links.setdefault((span_context.trace_id, span_context.span_id), Link(span_context))
    return list(links.values())


# -- spans ---------------------------------------------------------------------------------
@contextmanager
def publishing(envelope: Mapping[str, Any], exchange: str,
               headers: dict[str, Any]) -> Iterator[Span | None]:
    """The publish of one event, continuing the context it was created in; the span's own
    context goes into ``headers`` (the AMQP hop)."""
    if not _enabled:
        yield None
        return
    token = otel_context.attach(event_context(envelope))
    try:
        with _span(f"publish {envelope.get('type')}", SpanKind.PRODUCER, {
            "messaging.system": "rabbitmq", "messaging.operation.type": "send",
            "messaging.destination.name": exchange,
            "messaging.rabbitmq.destination.routing_key": str(envelope.get("type")),
            **_cloudevent_attributes(envelope),
        }) as span:
            _W3C.inject(headers)
            yield span
    finally:
        otel_context.detach(token)


@contextmanager
def processing(event: Any, headers: Mapping[str, Any] | None,
               queue: str) -> Iterator[Span | None]:
    """The handling of one consumed event: under the hop the headers carried (aio-pika's
    receive span is current then), else under the event's creation context."""
    if not _enabled:
        yield None
        return
    hop = {k: v.decode() if isinstance(v, bytes) else v
           for k in _EVENT_KEYS if (v := (headers or {}).get(k))}
    token = None
    if not hop:
        token = otel_context.attach(event_context(event))
    elif not trace.get_current_span().get_span_context().is_valid:
        # No aio-pika instrumentation (a test's provider): the hop is our publish span.
        token = otel_context.attach(event_context(hop))
    try:
        with _span(f"process {event.type}", SpanKind.CONSUMER, {
            "messaging.system": "rabbitmq", "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            **_cloudevent_attributes({"id": event.id, "type": event.type,
                                      "source": event.source}),
        }) as span:
            yield span
    finally:
        if token is not None:
            otel_context.detach(token)


@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL,
         attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span of the kit or a service (an SMTP send); a no-op while tracing is off."""
    if not _enabled:
        yield None
        return
    with _span(name, kind, attributes) as s:
        yield s


@contextmanager
def batch(name: str, links: list[Link]) -> Iterator[Span | None]:
    """One write serving several traces: a span of its own (a root, with instrumentation
    back on inside it) linked to each of them; nothing when none is traced."""
    if not _enabled or not links:
        yield None
        return
    token = otel_context.attach(Context())
    try:
        with _span(name, SpanKind.INTERNAL, {"bap.batch.traces": len(links)},
                   links=links) as s:
            yield s
    finally:
        otel_context.detach(token)


def failed(exc: BaseException) -> None:
    """Mark the current span failed by ``exc`` (caught and handled, not raised through it)."""
    if _enabled:
        _set_error(trace.get_current_span(), exc)


def background_context() -> contextvars.Context:
    """A copy of the current context with instrumentation suppressed, for a background task
    whose work is no one's trace (``asyncio.create_task(…, context=…)``): the relay's polls
    would otherwise be a new trace a second."""
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN
    ctx = contextvars.copy_context()

    def suppress() -> None:
        # The key is defined by opentelemetry.context (the instrumentation utils re-import it).
        value = otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
        otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY_PLAIN, True,
                                                   value))
    ctx.run(suppress)
    return ctx


@contextmanager
def _span(name: str, kind: SpanKind, attributes: Mapping[str, Any] | None,
          links: list[Link] | None = None) -> Iterator[Span]:
    # Exceptions are not recorded: their messages may hold addresses or codes. The status
    # says what failed in our own words (a DeliveryError's reason) or the exception's type.
    with _tracer.start_as_current_span(name, kind=kind, attributes=attributes, links=links,
                                       record_exception=False,
                                       set_status_on_exception=False) as s:
        try:
            yield s
        except BaseException as e:
            _set_error(s, e)
            raise


def _set_error(s: Span, exc: BaseException) -> None:
    s.set_attribute("error.type", type(exc).__qualname__)
    reason = getattr(exc, "reason", None)
    s.set_status(Status(StatusCode.ERROR,
                        reason if isinstance(reason, str) else type(exc).__name__))


def _cloudevent_attributes(envelope: Mapping[str, Any]) -> dict[str, str]:
    # The OpenTelemetry semantic conventions' CloudEvents attributes; ids and types only.
    # No subject: it may name a person's address.
    names = {"id": "cloudevents.event_id", "type": "cloudevents.event_type",
             "source": "cloudevents.event_source"}
    return {attr: str(envelope[key]) for key, attr in names.items() if envelope.get(key)}
