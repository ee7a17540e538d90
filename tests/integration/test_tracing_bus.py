"""Issue 14 part 1, in one process: an event written in a request's span is published by the
relay and handled by the consumer in that same trace; the relay's own polling is in no trace,
and its removal of published events is a span linked to the traces it serves."""

from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from shared.bus import Subscription
from shared.events import EventData, make_event
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.relay import Relay
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.thing.made.v1"


class Made(EventData):
    thing: str


async def test_event_is_published_and_handled_in_the_trace_of_the_request_that_wrote_it(
        spans, traced_db, make_bus):
    handled: list = []
    seen = Aggregates(traced_db, "seen")

    async def handle(event, data: Made) -> None:
        handled.append(trace.get_current_span().get_span_context())
        await seen.create({"_id": event.id, "thing": data.thing})

    consumer = await make_bus("consumer")
    consumer.subscribe([Subscription(TYPE, Made, handle)])
    await consumer.start_consuming()
    relay = Relay(await make_bus("producer"), Metrics("producer"), poll_seconds=0.2)
    things = Aggregates(traced_db, "things", on_events=relay.wake)
    relay.watch(things)
    await relay.start()
    try:
        with spans.tracer.start_as_current_span("POST /v1/things", kind=SpanKind.SERVER) as request:
            await things.create({"_id": "t-1"}, [make_event(TYPE, {"thing": "t-1"},
                                                            source="/services/test")])
        await eventually(lambda: handled, message="the event handled")
        await eventually(lambda: any(s.name == "relay remove published"
                                     for s in spans.get_finished_spans()),
                         message="the published event removed")
        started = time.time()
        await eventually(lambda: relay.last_cycle > started + 0.5, message="relay polls")
    finally:
        await relay.stop()

    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    request_ctx = request.get_span_context()
    (publish,) = [s for s in finished if s.name == f"publish {TYPE}"]
    (process,) = [s for s in finished if s.name == f"process {TYPE}"]
    assert publish.parent.span_id == request_ctx.span_id
    assert process.parent.span_id == publish.context.span_id  # the hop in the AMQP headers
    assert handled == [process.get_span_context()]  # the handler runs inside it
    # The request's insert and the handler's insert are spans of their own traces' parents.
    inserts = [s for s in finished if s.name.endswith(".insert")]
    assert {by_id[s.parent.span_id].name for s in inserts} == {"POST /v1/things",
                                                              f"process {TYPE}"}
    assert {s.context.trace_id for s in (publish, process, *inserts)} == {request_ctx.trace_id}
    # The removal: a root span linked to the request's trace, its update inside it.
    (removal,) = [s for s in finished if s.name == "relay remove published"]
    assert removal.parent is None
    assert [link.context.trace_id for link in removal.links] == [request_ctx.trace_id]
    assert any(s.parent and s.parent.span_id == removal.context.span_id
               and s.name.endswith(".update") for s in finished)
    # The relay's polls (claims, backlog counts) started no trace of their own.
    roots = [s.name for s in finished if s.parent is None]
    assert sorted(roots) == ["POST /v1/things", "relay remove published"], roots
