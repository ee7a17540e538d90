"""The relay's removals of published events, batched per collection (``Removals``).

A removal is conditional on the aggregate's claim (``RELAY_LEASE``: still this claim's) and on
nothing added since (``outbox_seq``); removals that come in while one write is on its way go
together in the next one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.trace import Link
from pymongo.asynchronous.collection import AsyncCollection

from shared import tracing
from shared.mongo import RELAY_LEASE

Doc = dict[str, Any]

# What the removal sets when every pending event is gone.
CLEARED: Doc = {"pending_events": [], "has_pending": False, "pending_since": 0.0,
                **RELAY_LEASE.free()}


class Removals:
    """The removals of one collection, written together: a write gathers what comes in for a
    moment; while it is on its way, the removals that come in wait for the next, which takes
    them all (one ``update_many`` per ``last_seq``). Each is conditional on its aggregate's
    claim and on nothing added since."""

    MAX = 512
    # A write waits this long for more removals unless ``GATHER`` are queued already: they
    # come one by one as confirms arrive, and one write of many costs the database (and us)
    # little more than a write of one.
    GATHER_SECONDS = 0.02
    GATHER = 64

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection
        self._queued: list[tuple[Any, int, str, asyncio.Future[bool]]] = []
        # The traces of the events each queued removal follows (span links of the write).
        self._links: dict[int, list[Link]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def remove(self, _id: Any, last_seq: int, claim: str,
                     links: list[Link] | None = None) -> bool:
        """True: removed. False: not (events were added, or the claim is gone); look."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((_id, last_seq, claim, future))
        if links:
            self._links[id(future)] = links
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await future

    async def idle(self) -> None:
        """Wait for the write on its way, if any."""
        if self._writer is not None:
            await asyncio.wait([self._writer])

    async def _write(self) -> None:
        try:
            if len(self._queued) < self.GATHER:
                await asyncio.sleep(self.GATHER_SECONDS)
            while self._queued:
                batch, self._queued = self._queued[:self.MAX], self._queued[self.MAX:]
                by_seq: dict[int, list[tuple[Any, str, asyncio.Future[bool]]]] = {}
                for _id, last_seq, claim, future in batch:
                    by_seq.setdefault(last_seq, []).append((_id, claim, future))
                await asyncio.gather(*(self._write_one(seq, items)
                                       for seq, items in by_seq.items()))
        finally:
            self._writer = None

    async def _write_one(self, last_seq: int,
                         items: list[tuple[Any, str, asyncio.Future[bool]]]) -> None:
        # A claim token is written only on the aggregates claimed with it, so "one of these
        # claims" is, for each aggregate, "its own claim".
        links = [link for _, _, f in items for link in self._links.pop(id(f), ())]
        try:
            with tracing.batch("relay remove published", links):
                done = await self.collection.update_many(
                    {"_id": {"$in": [i[0] for i in items]}, "outbox_seq": {"$eq": last_seq},
                     **RELAY_LEASE.mine_any(i[1] for i in items)},
                    {"$set": CLEARED, "$inc": {"version": 1}})
        except BaseException as e:
            for _, _, future in items:
                if not future.done():
                    future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        removed = done.matched_count == len(items)
        for _, _, future in items:
            if not future.done():
                future.set_result(removed)
