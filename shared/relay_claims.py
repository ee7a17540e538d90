"""What the relay reads and claims in the stores' collections: batches of claimable aggregates
(under ``RELAY_LEASE``), the backlog, and the collections themselves on the relay's own client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from shared.lease import Lease
from shared.mongo import RELAY_LEASE, Aggregates, Written
from shared.relay_removals import CLEARED

Doc = dict[str, Any]
# ``$eq``: the same on MongoDB, and the emulator then uses the index instead of also looking
# into arrays (a full scan).
PENDING: Doc = {"has_pending": {"$eq": True}}


class RelayCollections:
    """The stores' collections as the relay uses them: through its own client when it has
    one (so it never waits behind the commands for a connection), else the stores' own."""

    def __init__(self) -> None:
        self._collections: dict[str, AsyncCollection[Doc]] = {}
        self._client_of_collections: AsyncMongoClient[Doc] | None = None

    def of(self, store: Aggregates, client: AsyncMongoClient[Doc] | None) -> AsyncCollection[Doc]:
        if client is None:
            return store.collection
        if self._client_of_collections is not client:
            self._collections, self._client_of_collections = {}, client
        name = store.collection.full_name
        coll = self._collections.get(name)
        if coll is None:
            source = store.collection
            coll = self._collections[name] = client[source.database.name].get_collection(
                source.name, codec_options=source.codec_options)
        return coll


async def claim_batch(lease: Lease, store: Aggregates, claim: str, owner: str,
                      batch: int) -> list[Written]:
    """Claim up to ``batch`` of the oldest claimable aggregates of ``store`` under ``claim``:
    each one's pending events, oldest aggregate first."""
    taken = await lease.claim_many(PENDING, claim, limit=batch, sort="pending_since",
                                   owner=owner)
    docs = sorted(taken.docs, key=lambda d: d.get("pending_since") or 0.0)
    return [Written(store, d["_id"], taken.holder, taken.until, d.get("pending_events", []),
                    last_seq(d)) for d in docs]


async def keep_added(lease: Lease, store: Aggregates, _id: Any, claim: str, last_seq: int, *,
                     owner: str, new_claim: Callable[[], str | None]) -> Written | bool:
    """Drop the events up to ``last_seq`` (published under ``claim``) and keep those added
    since: claimed anew under ``new_claim()`` (the aggregate to publish next), or, when that
    gives no claim (stopping), left unclaimed for any relay (True). False: nothing is left
    to publish, or the claim was lost (the next holder publishes again, consumers
    deduplicate)."""
    coll = lease.collection
    while True:
        doc = await coll.find_one({"_id": _id})
        if doc is None or not RELAY_LEASE.held_by(doc, claim):
            return False
        rest = [e for e in doc.get("pending_events", []) if e["seq"] > last_seq]
        again = new_claim() if rest else None
        if again is not None:
            lease_until = lease.clock() + lease.seconds
            result = await coll.update_one(
                {"_id": _id, "version": doc["version"]},
                {"$set": {"pending_events": rest,
                          **RELAY_LEASE.held(again, lease_until, owner)},
                 "$inc": {"version": 1}})
            if result.matched_count:
                return Written(store, _id, again, lease_until, rest, rest[-1]["seq"])
            continue
        update: Doc = {**CLEARED, "pending_events": rest}
        if rest:
            update.update(has_pending=True, pending_since=time.time())
        result = await coll.update_one({"_id": _id, "version": doc["version"]},
                                       {"$set": update, "$inc": {"version": 1}})
        if result.matched_count:
            return bool(rest)


def last_seq(doc: Doc) -> int:
    pending = doc.get("pending_events") or []
    return int(pending[-1]["seq"]) if pending else int(doc.get("outbox_seq", 0))


async def backlog(collections: Iterable[AsyncCollection[Doc]]) -> int:
    """Aggregates with events not yet published (counted up to 10 000 per collection)."""
    total = 0
    for coll in collections:
        total += len(await coll.find(PENDING, {"_id": 1}).limit(10_000).to_list())
    return total


async def oldest_pending_age(collections: Iterable[AsyncCollection[Doc]]) -> float:
    """Seconds since the oldest event not yet published was written (0 when none waits):
    one indexed read per collection (the claim's own order, ``pending_since``)."""
    oldest: float | None = None
    for coll in collections:
        found = await coll.find(PENDING, {"_id": 0, "pending_since": 1}).sort(
            "pending_since", 1).limit(1).to_list()
        since = found[0].get("pending_since") if found else None
        if since and (oldest is None or since < oldest):
            oldest = since
    return max(0.0, time.time() - oldest) if oldest is not None else 0.0
