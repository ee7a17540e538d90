"""Writes that many callers ask for at the same moment, sent to MongoDB as one command.

A round trip costs both sides about 0.3–0.5 ms of CPU whatever it carries, a document in a
command of many about a sixth of that. Concurrent writes of one kind (the creates of one
collection, the deliveries a worker has in flight) therefore go together: the first one asked
for leaves at once (the next turn of the event loop), and the ones asked for while it is on
its way leave together when it is back. Each caller still gets its own outcome, and awaits
it, as from a write of its own; nothing is acknowledged earlier.

Traces: a command serving one caller runs in that caller's context (its span is the parent,
as for a write of its own); a command serving several is a span of its own linked to each
caller's trace (``shared.tracing.batch``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from shared import tracing

T = TypeVar("T")
R = TypeVar("R")

# The tracing context a caller was in (``_caller``); None while tracing is off.
Caller = Context | None
# What one flush returns for each item, in order: its result, or the exception its caller gets.
Flush = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]


class Batched(Generic[T, R]):
    """``await batched(item)``: ``item`` written with the others asked for meanwhile, by
    ``flush`` (one command for at most ``max_batch`` items, one command at a time); ``name``
    is the span of a command serving several traces."""

    def __init__(self, flush: Flush[T, R], *, max_batch: int = 100,
                 name: str = "batched write") -> None:
        self._flush = flush
        self._max_batch = max(1, max_batch)
        self._name = name
        self._waiting: list[tuple[T, asyncio.Future[R], Caller]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        entry = (item, future, _caller())
        self._waiting.append(entry)
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            # A context of its own: the writer serves every caller, not the first one's trace.
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        try:
            return await future
        except asyncio.CancelledError:
            # Not yet on its way: never written, as a write not yet sent. On its way: it
            # stays a write whose answer nobody reads, as a cancelled single write.
            for i, waiting in enumerate(self._waiting):
                if waiting is entry:
                    del self._waiting[i]
                    break
            raise

    async def _write(self) -> None:
        batch: list[tuple[T, asyncio.Future[R], Caller]] = []
        try:
            while self._waiting:
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                try:
                    with _serving(self._name, [caller for _, _, caller in batch]):
                        results = await self._flush([item for item, _, _ in batch])
                except Exception as e:  # the whole command failed: each caller gets it
                    results = [e] * len(batch)
                for (_, future, _), result in zip(batch, results, strict=True):
                    if future.done():  # its caller was cancelled meanwhile
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                batch = []
        except BaseException as e:
            # Stopped (the loop closing) or a flush that broke its contract: nobody is left
            # waiting for an answer that will not come.
            for _, future, _ in [*batch, *self._waiting]:
                if not future.done():
                    future.set_exception(e if isinstance(e, Exception)
                                         else RuntimeError("the batched write was stopped"))
            self._waiting.clear()
            raise


def _caller() -> Caller:
    return otel_context.get_current() if tracing.enabled() else None


@contextmanager
def _serving(name: str, callers: list[Caller]) -> Iterator[None]:
    """Where a command sent for ``callers`` runs: in the caller's context when it serves one,
    else in a span of its own linked to each traced caller (or, when none is traced, in the
    first one's context, which may suppress instrumentation)."""
    first = callers[0] if callers else None
    if first is None:  # tracing off
        yield
        return
    if len(callers) > 1:
        links: dict[tuple[int, int], Link] = {}
        for ctx in callers:
            span_context = trace.get_current_span(ctx).get_span_context()
            if span_context.is_valid:
                links.setdefault((span_context.trace_id, span_context.span_id),
                                 Link(span_context))
        if links:
            with tracing.batch(name, list(links.values())):
                yield
            return
    token = otel_context.attach(first)
    try:
        yield
    finally:
        otel_context.detach(token)


async def insert_each(collection: AsyncCollection[dict[str, Any]],
                      docs: list[dict[str, Any]]) -> list[Exception | None]:
    """Insert ``docs`` in one unordered command: per document ``None`` (inserted) or the
    exception a single ``insert_one`` of it would have raised (``DuplicateKeyError``...)."""
    if len(docs) == 1:  # the cheaper command path, and its own exception as it is
        try:
            await collection.insert_one(docs[0])
        except (DuplicateKeyError, WriteError) as e:
            return [e]
        return [None]
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as e:
        if e.details.get("writeConcernErrors"):
            return [e] * len(docs)
        failed = {w["index"]: w for w in e.details.get("writeErrors", [])}
        return [_write_error(failed[i]) if i in failed else None for i in range(len(docs))]
    return [None] * len(docs)


def _write_error(error: dict[str, Any]) -> Exception:
    """The exception a single insert would have raised for its part of an insert_many."""
    code, message = error.get("code"), str(error.get("errmsg", ""))
    if code in (11000, 11001, 12582):
        return DuplicateKeyError(message, code, error)
    return WriteError(message, code, error)
