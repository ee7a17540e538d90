"""MongoDB access: the client's lifecycle, indexes declared beside each store, and the one write
that saves an aggregate together with the events it causes.

Only features listed in ``tests/compat`` are used, so the code runs unchanged on MongoDB 7 and
on the local wire-protocol emulator: whole-document ``insert_one``/``replace_one`` guarded by
a ``version`` filter, ``$set``/``$inc`` of numbers, booleans, strings and arrays, unique
indexes on fields every document has. No transactions, no ``$push`` of documents, no
datetimes written through ``$set`` (the emulator turns them into strings).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.batching import Batched, insert_each
from shared.errors import Conflict
from shared.lease import LeaseFields

Doc = dict[str, Any]
# A create waiting to go with the others (``Aggregates.create``): the document, whether it
# has events, and the claim it is saved with.
_Insert = tuple[Doc, bool, "Reservation | None"]

# Fields the outbox keeps on every aggregate document.
OUTBOX_FIELDS = ("version", "pending_events", "outbox_seq", "has_pending", "pending_since",
                 "relay_lease", "relay_owner", "relay_claim", "applied_events")
# The relay's lease on an aggregate whose events wait: ``relay_claim`` (the token of one claim),
# ``relay_owner`` (the relay holding it), ``relay_lease`` (epoch seconds it runs to).
RELAY_LEASE = LeaseFields(until="relay_lease", holder="relay_claim", owner="relay_owner")
# How many consumed event ids an aggregate remembers to ignore redeliveries.
APPLIED_EVENTS_KEPT = 200


def connect(url: str, *, appname: str = "bap") -> AsyncMongoClient[Doc]:
    """A client for ``url``; datetimes come back timezone-aware (UTC)."""
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000,
                            connectTimeoutMS=5000, appname=appname)


async def ping(db: AsyncDatabase[Doc]) -> bool:
    try:
        await db.command("ping")
        return True
    except Exception:
        return False


@dataclass(frozen=True)
class Index:
    """An index declared next to the store that needs it; applied at start."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    name: str | None = None
    # A TTL index: MongoDB removes a document once the date in its (single) field is this many
    # seconds past. Documents without a date in the field stay.
    expire_after_seconds: int | None = None

    @classmethod
    def on(cls, *fields: str, unique: bool = False) -> Index:
        return cls(tuple((f, ASCENDING) for f in fields), unique=unique)

    @classmethod
    def ttl(cls, field: str = "expires_at") -> Index:
        """Remove each document when the datetime in ``field`` has passed (a background sweep:
        minutes late on MongoDB, so never a correctness rule, only the bound on growth)."""
        return cls(((field, ASCENDING),), name=f"{field}_ttl", expire_after_seconds=0)

    def model(self) -> IndexModel:
        name = self.name or "_".join(f for f, _ in self.keys) + ("_u" if self.unique else "")
        if self.expire_after_seconds is not None:
            return IndexModel(list(self.keys), name=name,
                              expireAfterSeconds=self.expire_after_seconds)
        return IndexModel(list(self.keys), unique=self.unique, name=name)


async def apply_indexes(collection: AsyncCollection[Doc], indexes: Iterable[Index]) -> None:
    models = [i.model() for i in indexes]
    if models:
        await collection.create_indexes(models)


class ConcurrencyConflict(Conflict):
    slug, title = "concurrent-update", "The resource was changed at the same time; try again"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A claim a relay hands out before a write: the write saves its aggregate already claimed
    (``relay_owner``, ``relay_claim``, ``relay_lease``), so the relay need not claim it again."""

    owner: str
    claim: str
    lease_until: float


@dataclass(frozen=True, slots=True)
class Written:
    """An aggregate saved with events and claimed for the relay of this process: what it
    publishes (in ``seq`` order) and the claim under which it removes them afterwards."""

    store: Aggregates
    id: Any
    claim: str
    lease_until: float
    pending: list[dict[str, Any]]
    last_seq: int


class EventsHandoff(Protocol):
    """An ``on_events`` that takes a write's events over (``shared.relay.Relay.wake``).

    ``room()`` is awaited before the write (the relay's back-pressure: it returns once the
    relay has room, or after a bounded wait); ``reserve()`` gives the claim to save with the
    write (``None``: save it unclaimed); after the write, the store calls it with the
    ``Written`` aggregate. Called with no argument it only means "something was written" (the
    relay looks for unclaimed events).
    """

    def __call__(self, written: Written | None = None) -> None: ...

    def reserve(self) -> Reservation | None: ...

    async def room(self) -> None: ...


class Aggregates:
    """A collection of aggregate documents, each saved whole with its pending events.

    ``create`` inserts a new document; ``update`` replaces it only if nobody wrote it since it
    was read (its ``version``). The events of the write go into the document's
    ``pending_events`` in the same write; the relay publishes and removes them. The relay's
    own writes bump the version too, so a command can never overwrite a relay's claim.

    ``on_events`` is called after every write with events. A plain callable is called with no
    argument. An ``EventsHandoff`` (the relay's ``wake``) also claims the write for its relay:
    the document is saved claimed (``reserve()``) unless another claim is still running on it
    (its events then follow the ones that claim publishes, so the order holds), and the saved
    aggregate is handed over, so the relay publishes it without a claim of its own. A process
    that dies before its relay published leaves the claim to run out; another relay takes it.
    A write with events first waits for room at its relay (``room()``, bounded), so a burst
    of commands goes at the pace its events are published.
    """

    def __init__(self, db: AsyncDatabase[Doc], name: str, *, indexes: Iterable[Index] = (),
                 on_events: Callable[[], None] | EventsHandoff | None = None) -> None:
        self.collection: AsyncCollection[Doc] = db[name]
        self.name = name
        self.indexes = (Index.on("has_pending", "pending_since"), *indexes)
        # Called with no argument, or (an ``EventsHandoff``) with the ``Written`` aggregate.
        self._on_events: Callable[..., None] = on_events or _nothing
        self._reserve: Callable[[], Reservation | None] | None = getattr(
            on_events, "reserve", None)
        self._room: Callable[[], Awaitable[None]] | None = getattr(on_events, "room", None)
        # Concurrent creates go as one insert (a round trip costs more than a document).
        self._inserts: Batched[_Insert, None] = Batched(self._insert, name=f"insert {name}")

    async def apply_indexes(self) -> None:
        await apply_indexes(self.collection, self.indexes)

    async def get(self, filter: dict[str, Any]) -> dict[str, Any] | None:
        return await self.collection.find_one(filter)

    async def create(self, doc: dict[str, Any], events: Sequence[dict[str, Any]] = (),
                     *, applied_event: str | None = None) -> dict[str, Any]:
        """Insert a new aggregate; ``DuplicateKeyError`` if its ``_id`` or a unique key exists.
        Concurrent creates go in one command (``shared.batching``), each with its outcome."""
        doc = {**doc, **new_outbox(applied_event)}
        _append(doc, events)
        if events and self._room is not None:
            await self._room()
        reservation = self._reserve() if events and self._reserve is not None else None
        if reservation is not None:
            _claim_for(doc, reservation)
        await self._inserts((doc, bool(events), reservation))
        return doc

    async def _insert(self, batch: list[_Insert]) -> list[Exception | None]:
        results = await insert_each(self.collection, [doc for doc, _, _ in batch])
        # Handed over as each write is acknowledged, whether or not its caller still waits.
        for (doc, events, reservation), result in zip(batch, results, strict=True):
            if events and result is None:
                self._written(doc, reservation)
        return results

    async def create_once(self, doc: dict[str, Any], events: Sequence[dict[str, Any]] = (),
                          *, applied_event: str | None = None) -> bool:
        """Create an aggregate whose ``_id`` is derived from its cause (an event, a request):
        True if this call created it, False if it exists already (the cause came again)."""
        try:
            await self.create(doc, events, applied_event=applied_event)
            return True
        except DuplicateKeyError:
            return False

    async def update(self, doc: dict[str, Any], events: Sequence[dict[str, Any]] = (),
                     *, applied_event: str | None = None) -> dict[str, Any]:
        """Save ``doc`` (as read, then changed) if its version is still current."""
        expected = doc["version"]
        new = dict(doc)
        new["version"] = expected + 1
        new["pending_events"] = list(doc.get("pending_events", []))
        if applied_event:
            new["applied_events"] = [*doc.get("applied_events", []), applied_event][
                -APPLIED_EVENTS_KEPT:]
        _append(new, events)
        reservation = None
        # A claim still running (this relay's or another's) keeps the document: its holder
        # publishes these events after its own. The version filter makes "still running" hold
        # at the write, as no claim is taken or given up without a write.
        if events and self._room is not None:
            await self._room()
        if events and self._reserve is not None and not _claimed(doc, time.time()):
            reservation = self._reserve()
            if reservation is not None:
                _claim_for(new, reservation)
        result = await self.collection.replace_one({"_id": doc["_id"], "version": expected}, new)
        if result.matched_count != 1:
            raise ConcurrencyConflict()
        if events:
            self._written(new, reservation)
        return new

    def _written(self, doc: dict[str, Any], reservation: Reservation | None) -> None:
        if reservation is None:
            self._on_events()
            return
        self._on_events(Written(self, doc["_id"], reservation.claim, reservation.lease_until,
                                list(doc["pending_events"]), doc["outbox_seq"]))

    async def change(
        self,
        filter: dict[str, Any],
        mutate: Callable[[dict[str, Any]], list[dict[str, Any]] | Awaitable[list[dict[str, Any]]]],
        *,
        applied_event: str | None = None,
        attempts: int = 30,
    ) -> dict[str, Any] | None:
        """Read, change and save one aggregate, retrying when a concurrent write won.

        ``mutate`` changes the document in place and returns the events it causes; to reject
        the change it raises (nothing is written). With ``applied_event``, a document that
        already applied that event is left alone (the redelivery of a consumed event has no
        second effect), and the event is recorded only in a write that changes something: a
        mutate that changed nothing leaves no trace, so the event can be replayed later.
        Returns the saved document, or ``None`` when no document matches.
        """
        for attempt in range(attempts):
            doc = await self.get(filter)
            if doc is None:
                return None
            if applied_event and applied_event in doc.get("applied_events", []):
                return doc
            before = copy.deepcopy(doc) if applied_event else None
            changed = mutate(doc)
            events = await changed if inspect.isawaitable(changed) else changed
            if applied_event and not events and doc == before:
                # Nothing applied, nothing recorded: an event counts as applied only in the
                # write that applies its effect, so a rejected one stays replayable.
                return doc
            try:
                return await self.update(doc, events or [], applied_event=applied_event)
            except ConcurrencyConflict:
                # Not stamina: under contention a conflict is the normal path, not a fault to
                # log and count; a jitter below a few milliseconds spreads the writers apart.
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConcurrencyConflict()


def new_outbox(applied_event: str | None = None) -> dict[str, Any]:
    """The outbox fields of a new aggregate with nothing pending, as ``create`` saves them (a
    store that inserts several aggregates in one command adds these to each)."""
    return {"version": 1, "pending_events": [], "outbox_seq": 0, "has_pending": False,
            "pending_since": 0.0, **RELAY_LEASE.free(),
            "applied_events": [applied_event] if applied_event else []}


def _nothing(*_: Any) -> None:
    pass


def _claimed(doc: dict[str, Any], now: float) -> bool:
    """Whether a relay's claim on ``doc`` (as read) is still running."""
    return RELAY_LEASE.running(doc, now)


def _claim_for(doc: dict[str, Any], reservation: Reservation) -> None:
    doc.update(RELAY_LEASE.held(reservation.claim, reservation.lease_until, reservation.owner))


def _append(doc: dict[str, Any], events: Iterable[dict[str, Any]]) -> None:
    events = list(events)
    if not events:
        return
    seq = doc.get("outbox_seq", 0)
    for envelope in events:
        seq += 1
        doc["pending_events"].append({"seq": seq, "event": envelope})
    doc["outbox_seq"] = seq
    if not doc.get("has_pending"):
        doc["has_pending"] = True
        doc["pending_since"] = time.time()


def is_duplicate(exc: BaseException) -> bool:
    return isinstance(exc, DuplicateKeyError)


class Quota:
    """Counted allowances per key and time window (rate limits, attempt limits), taken
    atomically: of many concurrent ``take`` calls exactly ``limit`` succeed per window.

    Each window's counter carries ``expires_at`` (the window's end): with ``INDEXES`` applied
    to the collection, MongoDB removes counters of past windows, so they do not pile up."""

    INDEXES = (Index.ttl("expires_at"),)

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection

    async def take(self, key: str, limit: int, window_seconds: float,
                   amount: int = 1) -> bool:
        """``amount`` uses at once (all or none)."""
        return await self.take_counted(key, limit, window_seconds, amount) is not None

    async def take_counted(self, key: str, limit: int, window_seconds: float,
                           amount: int = 1) -> int | None:
        """Like ``take``: the window's uses counting these (read in the same atomic write), or
        None when the window has not that many left.

        One round trip: the window's counter is created by the same upsert that counts (its
        end and expiry come from the filter's equality fields). A counter that exists without
        ``amount`` left misses the filter, so the upsert would make a second ``_id``: MongoDB
        refuses it with a duplicate key (the emulator answers no document). The duplicate key
        is also what the loser of two first takes of a window gets, so it tries once more
        without creating."""
        if amount > limit:
            return None
        window = int(time.time() // window_seconds)
        ends = (window + 1) * window_seconds
        counter = {"_id": f"{key}:{window}", "n": {"$lte": limit - amount}}
        try:
            taken = await self.collection.find_one_and_update(
                {**counter, "window_ends": ends, "expires_at": datetime.fromtimestamp(ends, UTC)},
                {"$inc": {"n": amount}}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            taken = await self.collection.find_one_and_update(
                counter, {"$inc": {"n": amount}}, return_document=ReturnDocument.AFTER)
        return None if taken is None else taken["n"]

    async def give_back(self, key: str, window_seconds: float, amount: int = 1) -> None:
        window = int(time.time() // window_seconds)
        await self.collection.update_one({"_id": f"{key}:{window}", "n": {"$gte": amount}},
                                         {"$inc": {"n": -amount}})

    async def clear(self, key: str, window_seconds: float) -> None:
        """The current window's uses start again from zero."""
        window = int(time.time() // window_seconds)
        await self.collection.update_one({"_id": f"{key}:{window}"}, {"$set": {"n": 0}})
