"""Traces (issue 14 part 1): the W3C context travels in the envelope, log lines name the span
they were written in, the kit's spans continue the right parent, sends are spans without the
recipient, and tracing stays off (nothing installed) unless an OTLP endpoint is set."""

from __future__ import annotations

import io
import json
from email.message import EmailMessage

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from services.notifications.transports import (
    EmailFileTransport,
    SmtpTransport,
    TransientDeliveryError,
)
from shared import tracing
from shared.events import CloudEvent, make_event
from shared.logging import configure_logging, get_logger
from tests.support.processes import free_port

pytestmark = pytest.mark.unit

TYPE = "test.thing.happened.v1"


def hex_ids(span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def test_event_written_in_a_request_carries_its_traceparent_as_the_cloudevents_extension(spans):
    with spans.tracer.start_as_current_span("POST /v1/things") as request:
        envelope = make_event(TYPE, {"n": 1}, source="/services/test")
    trace_id, span_id = hex_ids(request)
    assert envelope["traceparent"].startswith(f"00-{trace_id}-{span_id}-")
    # The envelope as consumers read it keeps it.
    assert CloudEvent.model_validate(envelope).traceparent == envelope["traceparent"]


def test_event_written_without_tracing_has_no_trace_attributes():
    envelope = make_event(TYPE, {"n": 1}, source="/services/test")
    assert "traceparent" not in envelope and "tracestate" not in envelope


@pytest.mark.parametrize("bad", ["garbage", "00-xyz", 42,
                                 "01-" + "a" * 32 + "-" + "b" * 16 + "-01"])
def test_malformed_trace_attributes_are_dropped_not_a_reason_to_refuse_the_event(bad):
    event = CloudEvent.model_validate({
        "specversion": "1.0", "id": "e-1", "source": "/x", "type": TYPE,
        "time": "2026-01-01T00:00:00Z", "data": {}, "traceparent": bad,
        "tracestate": "x" * 600})
    assert event.traceparent is None and event.tracestate is None


def test_log_line_in_a_span_carries_trace_and_span_id_beside_the_correlation_id(spans):
    out = io.StringIO()
    configure_logging("test", "INFO", "json", stream=out)
    log = get_logger("t")
    log.info("outside")
    with spans.tracer.start_as_current_span("work") as span:
        log.info("inside")
    outside, inside = (json.loads(line) for line in out.getvalue().splitlines())
    assert "trace_id" not in outside and "span_id" not in outside
    assert (inside["trace_id"], inside["span_id"]) == hex_ids(span)


def test_publish_continues_the_events_trace_and_puts_its_own_context_in_the_headers(spans):
    with spans.tracer.start_as_current_span("POST /v1/things") as request:
        envelope = make_event(TYPE, {"n": 1}, source="/services/test")
    headers: dict = {"x-attempts": 0}
    # The relay runs suppressed and with no span of the request: the envelope alone leads.
    with tracing.publishing(envelope, "bap.events", headers) as publish:
        pass
    (_, published) = spans.get_finished_spans()
    assert published.name == f"publish {TYPE}" and published.kind is SpanKind.PRODUCER
    assert published.parent.span_id == request.get_span_context().span_id
    assert published.context.trace_id == request.get_span_context().trace_id
    assert published.attributes["cloudevents.event_id"] == envelope["id"]
    assert headers["traceparent"].startswith("00-{}-{}-".format(*hex_ids(publish)))


def test_consumer_continues_the_hop_in_the_headers_else_the_events_own_context(spans):
    with spans.tracer.start_as_current_span("POST /v1/things") as request:
        raw = make_event(TYPE, {"n": 1}, source="/services/test")
    event = CloudEvent.model_validate(raw)
    headers: dict = {}
    with tracing.publishing(raw, "bap.events", headers) as publish:
        pass
    with tracing.processing(event, headers, "bap.svc") as via_headers:
        assert trace.get_current_span() is via_headers
    with tracing.processing(event, {"x-attempts": 0}, "bap.svc") as via_envelope:
        pass
    assert via_headers.parent.span_id == publish.get_span_context().span_id
    assert via_envelope.parent.span_id == request.get_span_context().span_id
    assert via_headers.name == f"process {TYPE}" and via_headers.kind is SpanKind.CONSUMER
    assert {via_headers.context.trace_id, via_envelope.context.trace_id} == {
        request.get_span_context().trace_id}


def test_a_write_serving_several_traces_links_each_of_them(spans):
    envelopes = []
    for name in ("a", "b"):
        with spans.tracer.start_as_current_span(name):
            envelopes.append(make_event(TYPE, {"n": 1}, source="/services/test"))
    links = tracing.event_links([*envelopes, envelopes[0]])  # a duplicate is one link
    with tracing.batch("relay remove published", links):
        pass
    with tracing.batch("nothing to link", []):
        pass
    batch = spans.get_finished_spans()[-1]
    assert batch.name == "relay remove published" and batch.parent is None
    assert {link.context.trace_id for link in batch.links} == {
        s.context.trace_id for s in spans.get_finished_spans()[:2]}


async def test_email_send_is_a_span_naming_the_provider_not_the_recipient(spans, tmp_path):
    message = EmailMessage()
    message["To"], message["From"], message["Subject"] = "anna@example.com", "n@x.test", "Hi"
    message["Message-ID"] = "<d-1@x.test>"
    message.set_content("hello")
    await EmailFileTransport(str(tmp_path)).send(message)
    refused = SmtpTransport("smtp", host="127.0.0.1", port=free_port(), username="",
                            password="", starttls=False, tls=False, timeout=2)
    with pytest.raises(TransientDeliveryError):
        await refused.send(message)
    sent, failed = spans.get_finished_spans()
    assert sent.name == "email-file send" and sent.status.status_code is StatusCode.UNSET
    assert failed.name == "smtp send" and failed.kind is SpanKind.CLIENT
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["server.port"] == refused.port
    for span in (sent, failed):
        assert "anna@example.com" not in json.dumps(dict(span.attributes))
        assert span.events == ()  # no exception recorded: its text may name the address


@pytest.mark.parametrize("env, on", [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"},
     False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"},
     False),
])
def test_tracing_is_off_unless_an_otlp_endpoint_is_set(env, on):
    assert (tracing.endpoint(env) is not None) is on


def test_without_an_endpoint_nothing_is_installed_and_the_kits_spans_are_no_ops():
    assert tracing.configure("test", "all", environ={}) is False
    assert not tracing.enabled()
    with tracing.span("x") as s:
        assert s is None
    with tracing.publishing({"id": "1", "type": TYPE}, "bap.events", headers := {}) as s:
        assert s is None
    assert headers == {}


def test_url_attributes_keep_no_query_string(spans):
    """A query may name a person (a recipient search) or carry a credential."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(tracing.query_redactor())
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with provider.get_tracer("t").start_as_current_span("GET /v1/deliveries", attributes={
            "http.target": "/v1/deliveries?recipient=anna@example.com",
            "http.url": "http://h/v1/deliveries?recipient=anna@example.com",
            "url.query": "recipient=anna@example.com", "url.path": "/v1/deliveries"}):
        pass
    (span,) = spans.get_finished_spans()
    assert span.attributes["http.target"] == "/v1/deliveries?[redacted]"
    assert span.attributes["http.url"] == "http://h/v1/deliveries?[redacted]"
    assert span.attributes["url.query"] == "[redacted]"
    assert span.attributes["url.path"] == "/v1/deliveries"
