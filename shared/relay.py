"""The relay: publishes the events saved inside aggregate documents, then removes them.

Every publication happens under a claim of the aggregate: ``relay_owner`` (the relay),
``relay_claim`` (a token of this one claim) and ``relay_lease`` (epoch seconds), so replicas
never publish the same aggregate at once and an aggregate's events go out in order. After
every event of the claim is confirmed by the broker, they are removed with an update
conditional on the claim (a ``shared.lease`` lease, fields ``shared.mongo.RELAY_LEASE``). A
relay that dies in between leaves them in place; once the lease runs out another relay
publishes them again, which idempotent consumers absorb.

Claims come two ways:

* A write of this process claims its aggregate for this relay in the write itself
  (``Aggregates`` with ``on_events=relay.wake``, see ``shared.mongo.EventsHandoff``) and hands
  it over; the relay publishes it at once and removes it: one write per aggregate.
* Everything else (other processes' writes, aggregates a running claim kept, expired leases,
  publications that failed) is claimed in batches: the oldest claimable ids, one
  ``update_many`` that claims those still claimable under a fresh token, one read of what
  that token got. Polling every ``poll_seconds`` does this, and a plain ``wake()``.

A few workers (``concurrency``) take turns, one woken per ``wake``; each keeps up to
``window`` aggregates publishing at once, one aggregate's events in order, and removes each
aggregate once its events are confirmed. Removals that come in while one is being written go
together in the next write (one ``update_many`` per ``last_seq``, each document conditional
on its own claim and on nothing added since). Events a command adds while a claim publishes
stay: the removal keeps them and the relay publishes them next under a new claim. The relay
reads and writes through its own MongoDB client when given one (``client``), so it never
waits behind the commands for a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Link
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from shared import relay_claims, tracing
from shared.bus.protocol import EventBus
from shared.lease import Lease
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.mongo import RELAY_LEASE, Aggregates, Reservation, Written
from shared.relay_claims import RelayCollections
from shared.relay_handoff import MAX_IN_FLIGHT, Admission, Handoff
from shared.relay_removals import Removals

log = get_logger("relay")

Key = tuple[str, Any]


class Relay:
    def __init__(self, bus: EventBus, metrics: Metrics, *, poll_seconds: float = 1.0,
                 lease_seconds: float = 30.0, concurrency: int = 2, batch: int = 64,
                 window: int = 128, client: AsyncMongoClient[dict[str, Any]] | None = None,
                 max_handed_over: int = 10_000, max_in_flight: int | None = None) -> None:
        self.bus = bus
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        # Aggregates claimed at once by a poll; aggregates a worker publishes at once.
        self.batch = batch
        self.window = window
        # The relay's own connections (its caller closes it); without one it uses the stores'.
        self.client = client
        self._own = RelayCollections()
        # Beyond this many aggregates waiting, writes are saved unclaimed (polling takes them).
        self.max_handed_over = max_handed_over
        self.owner = uuid.uuid4().hex
        self._claims = itertools.count(1)
        self.stores: list[Aggregates] = []
        self.wake = Handoff(self)
        # Aggregates a worker of this relay publishes now, with the claim it holds. The token
        # tells claims apart in the database; this keeps a second worker of ours from
        # publishing the same aggregate at once (should a lease run out mid-publication):
        # what arrives for an aggregate held here waits in ``_waiting`` until it is let go.
        self._held: dict[Key, str] = {}
        self._waiting: dict[Key, list[Written]] = {}
        self.handed_over: deque[Written] = deque()  # woken with a write (read, never change)
        # The traces of the events just published per aggregate: the removal's span links.
        self._links: dict[Key, list[Link]] = {}
        self.idle_workers: deque[asyncio.Future[None]] = deque()  # (read, never change)
        self._wakes = 0  # wake-ups that found no idle worker
        self._poll_due = True
        self._last_poll = 0.0
        self._removers: dict[str, Removals] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._failing = False
        self.last_cycle = 0.0
        # Writes with events wait (``Handoff.room``) while this many aggregates are handed
        # over, about to publish (a task not yet started) or publishing (not those only
        # waiting for their removal): a burst goes at the pace its events are confirmed.
        self._publishing = 0
        self._starting: set[object] = set()
        self.admission = Admission(max_in_flight or MAX_IN_FLIGHT, lambda: len(
            self.handed_over) + len(self._starting) + self._publishing)

    def watch(self, store: Aggregates) -> None:
        self.stores.append(store)

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def start(self) -> None:
        self._stopping = False
        # The relay's own reads and writes are no one's trace (a poll a second would be a
        # trace a second): instrumentation is off in its tasks; each publish continues its
        # event's trace and each removal is a span linked to the traces it serves.
        self._tasks = [asyncio.create_task(self._loop(i), name=f"relay-{i}",
                                           context=tracing.background_context())
                       for i in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._backlog_loop(), name="relay-backlog",
                                               context=tracing.background_context()))

    async def stop(self) -> None:
        self._stopping = True
        self.admission.open_all()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for removals in self._removers.values():
            await removals.idle()
        # What was handed over and not published: let it go now rather than when its lease
        # runs out, so another replica publishes it at once.
        left = [*self.handed_over, *(w for ws in self._waiting.values() for w in ws)]
        self.handed_over.clear()
        self._waiting.clear()
        if left:
            await asyncio.gather(*(self._release(w.store, w.id, w.claim) for w in left))

    # -- waking ----------------------------------------------------------------------------
    def _reserve(self) -> Reservation | None:
        if self._stopping or len(self.handed_over) >= self.max_handed_over:
            return None
        return Reservation(self.owner, self._new_claim(), time.time() + self.lease_seconds)

    def _woken(self, written: Written | None) -> None:
        if written is not None:
            self.handed_over.append(written)
        else:
            self._poll_due = True
        self._wake_one()

    def _wake_one(self) -> None:
        while self.idle_workers:
            waiter = self.idle_workers.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._wakes += 1  # every worker is busy: the next one to finish goes round again

    async def _loop(self, worker: int) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            # Taken before the cycle, not after: a write that wakes us while we drain is not
            # lost (it would otherwise wait for the next poll).
            self._wakes = 0
            # Claims only when asked (a plain wake), or once per poll interval; what this
            # process writes comes handed over.
            poll = self._poll_due or time.time() - self._last_poll >= self.poll_seconds
            try:
                published = await self._cycle(poll=poll)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # broker or database away: back off, the lease protects us
                self._failing = True  # writes do not wait for a relay that can not publish
                self.admission.open_all()
                log.warning("relay cycle failed", error=f"{type(e).__name__}: {e}"[:300])
                # Not a retry of one call (no stamina): the worker's loop pauses, and its next
                # cycle claims afresh whatever is due then.
                await asyncio.sleep(min(self.poll_seconds, 1.0))
                continue
            self.last_cycle = time.time()
            self._failing = False
            if published or self._wakes or self.handed_over:
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self.idle_workers.append(waiter)
            try:
                await asyncio.wait_for(waiter, self.poll_seconds)
            except TimeoutError:
                pass
            finally:
                if waiter in self.idle_workers:
                    self.idle_workers.remove(waiter)

    # -- one cycle -------------------------------------------------------------------------
    async def drain(self) -> int:
        """Publish what was handed over and one batch claimed from each store; returns how
        many events went out."""
        return await self._cycle(poll=True)

    async def _cycle(self, *, poll: bool) -> int:
        # What was handed over, until none is left (or for one poll interval at most).
        until = time.monotonic() + self.poll_seconds
        total = await self._publish_stream(
            lambda: self.handed_over.popleft()
            if self.handed_over and time.monotonic() < until else None)
        if poll:
            self._poll_due = False
            self._last_poll = time.time()
            for store in self.stores:
                total += await self.publish_all(await self.claim(store))
        return total

    async def claim(self, store: Aggregates) -> list[Written]:
        """Claim up to ``batch`` of the oldest claimable aggregates of ``store``."""
        return await relay_claims.claim_batch(self._lease(store), store, self._new_claim(),
                                              self.owner, self.batch)

    async def _publish_stream(self, take: Callable[[], Written | None]) -> int:
        """Publish the aggregates ``take`` gives, up to ``window`` at a time, each one's
        events in order; one done makes room for the next. After a failure no new one is
        started; the failure is raised once those running are done."""
        slots = asyncio.Semaphore(self.window)
        running: set[asyncio.Task[int]] = set()
        total = 0
        failure: BaseException | None = None

        def finished(task: asyncio.Task[int]) -> None:
            nonlocal total, failure
            running.discard(task)
            self._starting.discard(task)
            slots.release()
            if task.cancelled():
                return
            if task.exception() is not None:
                failure = failure or task.exception()
            else:
                total += task.result()

        try:
            while failure is None:
                await slots.acquire()
                w = take() if failure is None else None
                if w is None:
                    slots.release()
                    break
                if not self._hold(w):
                    slots.release()
                    continue
                task = asyncio.create_task(self._publish_one(w))
                self._starting.add(task)
                running.add(task)
                task.add_done_callback(finished)
            if running:
                await asyncio.wait(set(running))
        finally:
            for task in running:  # cancelled ourselves (stop): they let their claims go
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if failure is not None:
            raise failure
        return total

    async def publish_all(self, claimed: list[Written]) -> int:
        """Publish the claimed aggregates concurrently, each one's events in order."""
        items = iter(claimed)
        return await self._publish_stream(lambda: next(items, None))

    def _hold(self, w: Written) -> bool:
        key = self._key(w.store, w.id)
        if key in self._held:  # a worker of ours still publishes it: this one goes next
            self._waiting.setdefault(key, []).append(w)
            return False
        self._held[key] = w.claim
        return True

    def _let_go(self, key: Key) -> None:
        self._held.pop(key, None)
        self._links.pop(key, None)
        waiting = self._waiting.pop(key, None)
        if waiting:
            self.handed_over.extend(waiting)
            self._wake_one()
        self.admission.freed()

    async def _publish_one(self, w: Written) -> int:
        key = self._key(w.store, w.id)
        published = 0
        publishing = True
        self._publishing += 1
        self._starting.discard(asyncio.current_task())
        try:
            current: Written | None = w
            while current is not None:
                if current.lease_until - time.time() < self._margin:
                    # Handed over too long ago: the lease may run out while we publish. Let
                    # it go; a claim publishes it (at once, as the poll is due).
                    await self._release(current.store, current.id, current.claim)
                    self._poll_due = True
                    return published
                try:
                    for entry in current.pending:
                        await self.bus.publish(entry["event"])
                except BaseException:
                    await self._release(current.store, current.id, current.claim)
                    raise
                published += len(current.pending)
                if publishing:  # confirmed: room for the next write while this one is removed
                    publishing = False
                    self._publishing -= 1
                    self.admission.freed()
                # Removed; or what a command added meanwhile, claimed anew to publish next.
                links = tracing.event_links(e["event"] for e in current.pending)
                if links:
                    self._links[key] = links
                current = await self._remove_published(current.store, current.id,
                                                       current.last_seq)
            return published
        finally:
            if publishing:
                self._publishing -= 1
            self._let_go(key)

    async def _remove_published(self, store: Aggregates, _id: Any,
                                last_seq: int) -> Written | None:
        """Remove the events up to ``last_seq`` under the claim held for ``_id``. Events
        added since stay, claimed anew: returned, to be published next."""
        coll = self._collection(store)
        key = self._key(store, _id)
        claim = self._held.get(key)
        if claim is None:
            return None
        if await self._removals(coll).remove(_id, last_seq, claim, self._links.pop(key, None)):
            return None
        # Events were added since the claim: keep those, drop the published ones.
        kept = await relay_claims.keep_added(
            self._lease(store), store, _id, claim, last_seq, owner=self.owner,
            new_claim=lambda: None if self._stopping else self._new_claim())
        if isinstance(kept, Written):
            self._held[key] = kept.claim
            return kept
        if kept:
            self.wake()  # left for any relay to claim
        return None

    async def _release(self, store: Aggregates, _id: Any, claim: str | None = None) -> None:
        claim = claim or self._held.get(self._key(store, _id))
        if not claim:
            return
        with contextlib.suppress(Exception):  # if not, the lease runs out by itself
            await self._lease(store).release({"_id": _id}, claim)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def _margin(self) -> float:
        """Lease a publication should have left when it starts."""
        return min(5.0, self.lease_seconds / 3)

    def _new_claim(self) -> str:
        # A string: floats written by $set can not be matched exactly on the emulator.
        return f"{self.owner}.{next(self._claims)}"

    def _key(self, store: Aggregates, _id: Any) -> Key:
        return (store.collection.full_name, _id)

    def _lease(self, store: Aggregates) -> Lease:
        return Lease(self._collection(store), seconds=self.lease_seconds, fields=RELAY_LEASE)

    def _removals(self, coll: AsyncCollection[dict[str, Any]]) -> Removals:
        removals = self._removers.get(coll.full_name)
        if removals is None or removals.collection is not coll:
            removals = self._removers[coll.full_name] = Removals(coll)
        return removals

    def _collection(self, store: Aggregates) -> AsyncCollection[dict[str, Any]]:
        return self._own.of(store, self.client)

    async def backlog(self) -> int:
        return await relay_claims.backlog(self._collection(s) for s in self.stores)

    async def oldest_pending_age(self) -> float:
        """Seconds since the oldest event not yet published was written (0 when none waits)."""
        return await relay_claims.oldest_pending_age(self._collection(s) for s in self.stores)

    async def _backlog_loop(self) -> None:
        while not self._stopping:
            try:
                self.metrics.relay_backlog.set(await self.backlog())
                self.metrics.relay_oldest_pending.set(await self.oldest_pending_age())
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            await asyncio.sleep(5)
