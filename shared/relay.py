"""The relay: publishes the events saved inside aggregate documents, then removes them.

A relay claims one aggregate at a time with a lease (``relay_lease``, epoch seconds), so
replicas never publish the same aggregate at once and an aggregate's events go out in order.
After every event of the claim is confirmed by the broker, they are removed with a
conditional update. A relay that dies in between leaves them in place; once the lease
runs out another relay publishes them again, which idempotent consumers absorb.

A write with events wakes the relay of its own process at once (``wake``); polling every
``poll_seconds`` picks up the rest (other processes' writes, expired leases).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from pymongo import ReturnDocument

from shared.bus import Bus
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.mongo import Aggregates

log = get_logger("relay")


class Relay:
    def __init__(self, bus: Bus, metrics: Metrics, *, poll_seconds: float = 1.0,
                 lease_seconds: float = 30.0, concurrency: int = 8) -> None:
        self.bus = bus
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        self.owner = uuid.uuid4().hex
        # Aggregates a worker of this relay is publishing now. The lease keeps other relays
        # away; this keeps this relay's other workers away should a lease run out mid-claim
        # (the owner is the same, so the lease alone can not tell them apart).
        self._held: set[tuple[str, Any]] = set()
        self.stores: list[Aggregates] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self.last_cycle = 0.0

    def watch(self, store: Aggregates) -> None:
        self.stores.append(store)

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(i), name=f"relay-{i}")
                       for i in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._backlog_loop(), name="relay-backlog"))

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self, worker: int) -> None:
        while not self._stopping:
            # Cleared before the cycle, not after: a write that wakes us while we drain is
            # not lost (it would otherwise wait for the next poll).
            self._wake.clear()
            try:
                published = await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # broker or database away: back off, the lease protects us
                log.warning("relay cycle failed", error=f"{type(e).__name__}: {e}"[:300])
                await asyncio.sleep(min(self.poll_seconds, 1.0))
                continue
            self.last_cycle = time.time()
            if published:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    async def drain(self) -> int:
        """Publish what one claim of each store yields; returns how many events went out."""
        total = 0
        for store in self.stores:
            doc = await self._claim(store)
            if doc is None:
                continue
            key = (store.collection.full_name, doc["_id"])
            if key in self._held:
                continue  # another worker of ours still publishes it (its lease just renewed)
            self._held.add(key)
            try:
                total += await self._publish(store, doc)
            finally:
                self._held.discard(key)
        return total

    async def _claim(self, store: Aggregates) -> dict[str, Any] | None:
        now = time.time()
        return await store.collection.find_one_and_update(
            {"has_pending": True, "relay_lease": {"$lt": now}},
            {"$set": {"relay_lease": now + self.lease_seconds, "relay_owner": self.owner},
             "$inc": {"version": 1}},
            sort=[("pending_since", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def _publish(self, store: Aggregates, doc: dict[str, Any]) -> int:
        pending = doc.get("pending_events", [])
        try:
            for entry in pending:
                await self.bus.publish(entry["event"])
        except BaseException:
            await self._release(store, doc["_id"])
            raise
        last = pending[-1]["seq"] if pending else doc.get("outbox_seq", 0)
        await self._remove_published(store, doc["_id"], last)
        return len(pending)

    async def _remove_published(self, store: Aggregates, _id: Any, last_seq: int) -> None:
        coll = store.collection
        done = await coll.update_one(
            {"_id": _id, "outbox_seq": last_seq, "relay_owner": self.owner},
            {"$set": {"pending_events": [], "has_pending": False, "pending_since": 0.0,
                      "relay_lease": 0.0, "relay_owner": ""},
             "$inc": {"version": 1}})
        if done.matched_count:
            return
        # Events were added since the claim: keep those, drop the published ones.
        while True:
            doc = await coll.find_one({"_id": _id})
            if doc is None or doc.get("relay_owner") != self.owner:
                return  # lease lost: the next owner publishes again, consumers deduplicate
            rest = [e for e in doc.get("pending_events", []) if e["seq"] > last_seq]
            result = await coll.update_one(
                {"_id": _id, "version": doc["version"]},
                {"$set": {"pending_events": rest, "has_pending": bool(rest),
                          "pending_since": time.time() if rest else 0.0,
                          "relay_lease": 0.0, "relay_owner": ""},
                 "$inc": {"version": 1}})
            if result.matched_count:
                if rest:
                    self.wake()
                return

    async def _release(self, store: Aggregates, _id: Any) -> None:
        try:
            await store.collection.update_one(
                {"_id": _id, "relay_owner": self.owner},
                {"$set": {"relay_lease": 0.0, "relay_owner": ""}, "$inc": {"version": 1}})
        except Exception:
            pass  # the lease runs out by itself

    async def backlog(self) -> int:
        total = 0
        for store in self.stores:
            total += len(await store.collection.find(
                {"has_pending": True}, {"_id": 1}).limit(10_000).to_list())
        return total

    async def _backlog_loop(self) -> None:
        while not self._stopping:
            try:
                self.metrics.relay_backlog.set(await self.backlog())
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            await asyncio.sleep(5)
