"""Where a batched write runs for tracing (shared/batching.py): a command serving one caller
runs in that caller's span, a command serving several in a span of its own linked to each
caller's trace."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from shared.batching import Batched


async def test_a_write_alone_runs_in_its_callers_span_and_writes_together_in_a_linked_span(
        spans) -> None:
    seen: list[tuple[list[int], trace.Span]] = []

    async def flush(items: list[int]) -> list[None]:
        seen.append((items, trace.get_current_span()))
        await asyncio.sleep(0)
        return [None] * len(items)

    batched: Batched[int, None] = Batched(flush, name="insert things")

    async def request(n: int) -> int:
        with spans.tracer.start_as_current_span(f"request {n}", kind=SpanKind.SERVER) as s:
            await batched(n)
            return s.get_span_context().trace_id

    alone = await request(0)
    together = await asyncio.gather(*(request(n) for n in (1, 2, 3)))

    (items0, span0), (items1, span1) = seen
    assert items0 == [0] and items1 == [1, 2, 3]
    assert span0.get_span_context().trace_id == alone
    assert span0.name == "request 0"  # the caller's own span: its commands are its children
    batch = next(s for s in spans.get_finished_spans() if s.name == "insert things")
    assert span1.get_span_context().span_id == batch.context.span_id
    assert batch.parent is None
    assert sorted(link.context.trace_id for link in batch.links) == sorted(together)
    assert trace.get_current_span().get_span_context().is_valid is False


async def test_without_tracing_the_writer_runs_outside_any_callers_context(spans) -> None:
    from shared import tracing

    tracing.use(None)
    contexts: list[bool] = []

    async def flush(items: list[int]) -> list[None]:
        contexts.append(trace.get_current_span().get_span_context().is_valid)
        return [None] * len(items)

    batched: Batched[int, None] = Batched(flush)
    with spans.tracer.start_as_current_span("request"):
        await batched(1)
    assert contexts == [False]
