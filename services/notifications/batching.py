"""Part of the store (MongoDB): writes that many handlers ask for at the same moment, sent to
MongoDB as one command.

A round trip costs both sides about 0.3–0.5 ms of CPU whatever it carries, a document in a
command of many about a sixth of that. The deliveries in flight (up to the prefetch) each
insert their delivery and record its outcome at about the same time, so those writes go
together: the first one asked for leaves at once (the next turn of the event loop), and the
ones asked for while it is on its way leave together when it is back. Each caller still gets
its own outcome, and awaits it, as from a write of its own; nothing is acknowledged earlier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What one flush returns for each item, in order: its result, or the exception its caller gets.
Flush = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]


class Batched(Generic[T, R]):
    """``await batched(item)``: ``item`` written with the others asked for meanwhile, by
    ``flush`` (one command for at most ``max_batch`` items, one command at a time)."""

    def __init__(self, flush: Flush[T, R], *, max_batch: int = 100) -> None:
        self._flush = flush
        self._max_batch = max(1, max_batch)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        entry = (item, future)
        self._waiting.append(entry)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
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
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                try:
                    results = await self._flush([item for item, _ in batch])
                except Exception as e:  # the whole command failed: each caller gets it
                    results = [e] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
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
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.set_exception(e if isinstance(e, Exception)
                                         else RuntimeError("the batched write was stopped"))
            self._waiting.clear()
            raise
