"""Issue 14 part 1: one registration is one trace, from identity's HTTP handler through its
MongoDB write and the publish to notifications' handling and the SMTP send; the services run
as real processes and export over OTLP/HTTP to a receiver this test runs."""

from __future__ import annotations

import json

import aiohttp
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from scripts import catalogue
from tests.support.otlp import Received
from tests.support.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.platform_env("otlp_export_env")]

REGISTRATION_STARTED = "identity.registration.started.v1"


def _ancestors(span: Received, by_id: dict[str, Received]) -> list[Received]:
    chain = []
    while span.parent_id and span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_registration_is_one_trace_from_the_http_request_to_the_smtp_send(
        platform, smtp_server, otlp):
    _, inbox = smtp_server
    async with (aiohttp.ClientSession() as http,
                http.post(f"{platform['identity'].url}/v1/registrations",
                         json={"email": "tracy.trace@example.com", "language": "en"}) as r):
        assert r.status == 202, await r.text()
    await inbox.wait_for("tracy.trace@example.com")

    def complete() -> list[Received] | None:
        server = [s for s in otlp.spans if s.service == "identity"
                  and s.name == "POST /v1/registrations" and s.kind == ProtoSpan.SPAN_KIND_SERVER]
        if len(server) != 1:
            return None
        spans = otlp.trace(server[0].trace_id)
        names = {(s.service, s.name) for s in spans}
        wanted = {("identity", f"publish {REGISTRATION_STARTED}"),
                  ("notifications", f"process {REGISTRATION_STARTED}"),
                  ("notifications", "smtp send")}
        # Complete once every span's parent has arrived too (batches come separately).
        ids = {s.span_id for s in spans}
        whole = all(s.parent_id in ids for s in spans if s is not server[0])
        return spans if wanted <= names and whole else None

    spans = await eventually(complete, 30, 0.2, message=lambda: (
        "a complete trace; spans received: "
        f"{sorted({(s.service, s.name) for s in otlp.spans})}"))
    by_id = {s.span_id: s for s in spans}

    def one(service: str, name: str) -> Received:
        found = [s for s in spans if s.service == service and s.name == name]
        assert len(found) == 1, (service, name, found)
        return found[0]

    server = one("identity", "POST /v1/registrations")
    assert server.parent_id == ""  # the request starts the trace
    # Identity's MongoDB write happens inside the handler.
    writes = [s for s in spans if s.service == "identity" and s.kind == ProtoSpan.SPAN_KIND_CLIENT
              and s.attributes.get("db.system") == "mongodb"
              and s.name.rsplit(".", 1)[-1] in ("insert", "update", "findAndModify")]
    assert writes and all(server in _ancestors(w, by_id) for w in writes), writes
    publish = one("identity", f"publish {REGISTRATION_STARTED}")
    assert server in _ancestors(publish, by_id)  # continued from the event's traceparent
    process = one("notifications", f"process {REGISTRATION_STARTED}")
    assert publish in _ancestors(process, by_id)  # across the broker, by the AMQP headers
    smtp = one("notifications", "smtp send")
    assert smtp.kind == ProtoSpan.SPAN_KIND_CLIENT and process in _ancestors(smtp, by_id)
    assert "tracy.trace@example.com" not in json.dumps([s.attributes for s in spans])
    # Every span of the trace hangs from another of it: nothing was cut off on the way.
    assert all(s.parent_id in by_id for s in spans if s is not server)

    # The log lines of the handling carry the trace and span ids beside the correlation id
    # (written before the send's span ended, so before it was exported).
    sent = [line for line in platform["notifications"].log_lines()
            if line.get("event") == "message sent" and line.get("trace_id") == server.trace_id]
    assert sent and sent[0]["span_id"] in by_id and sent[0].get("correlation_id")

    print("\nspans of one registration (service: name, parent):")
    for s in sorted(spans, key=lambda s: len(_ancestors(s, by_id))):
        parent = by_id[s.parent_id].name if s.parent_id in by_id else "-"
        print(f"  {s.service}: {s.name}  <- {parent}")


def test_asyncapi_document_declares_the_trace_context_attributes():
    envelope = catalogue.asyncapi()["components"]["schemas"]["CloudEvent"]["properties"]
    assert "pattern" in envelope["traceparent"] and "description" in envelope["tracestate"]
