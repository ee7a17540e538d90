"""Leases: a MongoDB document held by one holder for a while, taken over once the time runs out.

A lease lives in fields of the document it guards: until when it runs (``until``, epoch
seconds, ``0.0`` when free) and who holds it (``holder``, ``""`` when free); optionally the
process a holder belongs to (``owner``). Taking it is one atomic write whose filter says
"not held, or held past its time", so of many takers exactly one wins; a holder that dies
simply lets its lease run out. Every write the holder does to finish its work carries
"is it still mine" (``fields.mine(holder)`` in the filter, or ``fields.held_by(doc, holder)``
in a read-modify-write guarded by the document's version), so a holder whose lease was taken
over changes nothing. Every lease write bumps ``version`` too, so a command that read the
document before can never overwrite a lease taken meanwhile.

Usage (a background job taken by one process at a time)::

    jobs = Lease(db["jobs"], seconds=30.0)          # fields lease_until / lease_owner
    taken = await jobs.claim({"status": {"$in": ["queued", "running"]}}, holder=me,
                             also={"status": "running"})
    if taken is None:
        return                                       # nothing free
    job = taken.doc                                  # as it is now, held by ``me``
    ...                                              # a step of the work
    if await jobs.renew({"_id": job["_id"]}, me) is None:
        return                                       # taken over: stop, change nothing
    # The write that finishes the work says "still mine" in its filter:
    await db["jobs"].update_one(
        {"_id": job["_id"], **jobs.fields.mine(me)},
        {"$set": {"status": "completed", **jobs.fields.free()}, "$inc": {"version": 1}})

    # Or, through ``Aggregates.change``: renew in the same write as the progress.
    def apply(doc):
        if not jobs.fields.held_by(doc, me):
            raise Lost()
        doc.update(processed=doc["processed"] + n, **jobs.renewal())
        return []

    # Giving it up early (so another process takes it at once, not when it runs out):
    await jobs.release({"_id": job["_id"]}, me)

Fields with other names (documents written before this module) are named at construction:
``Lease(coll, seconds=..., fields=LeaseFields(until="claim_until", holder="claim_id"))``.
``claim`` returns the document before the claim too (``Taken.before``), for a holder that
has to know what a previous holder left unsettled (``Taken.previous``). ``claim_many``
takes a batch in three writes whatever its size (the relay's claims of pending events).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LeaseFields:
    """Where a lease lives in its document; filters and field values for the writes that
    take, keep and give it up. No I/O: a store builds its own writes from these."""

    until: str = "lease_until"
    holder: str = "lease_owner"
    # The process a holder belongs to, when that is a field of its own (holders are then
    # tokens of single claims of that process).
    owner: str | None = None

    def free(self) -> Doc:
        """The field values of a document nobody holds."""
        values: Doc = {self.until: 0.0, self.holder: ""}
        if self.owner is not None:
            values[self.owner] = ""
        return values

    def held(self, holder: str, until: float, owner: str = "") -> Doc:
        """The field values of a document ``holder`` holds until ``until``."""
        values: Doc = {self.until: until, self.holder: holder}
        if self.owner is not None:
            values[self.owner] = owner
        return values

    def takeable(self, now: float) -> Doc:
        """Filter: nobody holds the document at ``now`` (free, or its lease ran out)."""
        return {self.until: {"$lt": now}}

    def mine(self, holder: str) -> Doc:
        """Filter: the document is still held by ``holder`` (the finishing write's guard)."""
        # ``$eq``: the emulator then uses an index instead of also looking into arrays.
        return {self.holder: {"$eq": holder}}

    def mine_any(self, holders: Iterable[str]) -> Doc:
        """Filter: held by one of ``holders`` (a batch of claims, each on its own documents)."""
        return {self.holder: {"$in": list(dict.fromkeys(holders))}}

    def held_by(self, doc: Mapping[str, Any], holder: str) -> bool:
        """Whether ``doc`` (as read) is held by ``holder``: the check of a read-modify-write
        whose save is guarded by the document's version."""
        return bool(holder) and doc.get(self.holder) == holder

    def running(self, doc: Mapping[str, Any], now: float) -> bool:
        """Whether somebody's lease on ``doc`` (as read) still runs at ``now``."""
        who = doc.get(self.owner if self.owner is not None else self.holder)
        return bool(who) and float(doc.get(self.until) or 0.0) >= now


@dataclass(frozen=True, slots=True)
class Taken:
    """A document just claimed: ``doc`` as it is now (held), ``before`` as it was."""

    doc: Doc
    before: Doc
    holder: str
    until: float
    # Who held it before (a holder whose lease ran out without giving it up), or "".
    previous: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Documents taken together by one ``claim_many`` under one holder token."""

    holder: str
    until: float
    docs: list[Doc] = field(default_factory=list)


class Lease:
    """Leases of the documents of one collection, ``seconds`` long."""

    def __init__(self, collection: AsyncCollection[Doc], *, seconds: float,
                 fields: LeaseFields | None = None, version: str | None = "version",
                 clock: Callable[[], float] = time.time) -> None:
        self.collection = collection
        self.seconds = seconds
        self.fields = fields or LeaseFields()
        self.version = version
        self.clock = clock

    def renewal(self) -> Doc:
        """The field value that renews the lease from now (to set in the holder's own write)."""
        return {self.fields.until: self.clock() + self.seconds}

    def _update(self, values: Mapping[str, Any]) -> Doc:
        update: Doc = {"$set": dict(values)}
        if self.version is not None:
            update["$inc"] = {self.version: 1}
        return update

    async def claim(self, filter: Mapping[str, Any], holder: str, *, owner: str = "",
                    also: Mapping[str, Any] | None = None) -> Taken | None:
        """Take one document matching ``filter`` that nobody holds, for ``holder``, in one
        atomic write (``also``: further fields set in it); ``None`` when there is none."""
        now = self.clock()
        until = now + self.seconds
        values = {**self.fields.held(holder, until, owner), **(also or {})}
        before = await self.collection.find_one_and_update(
            {**filter, **self.fields.takeable(now)}, self._update(values),
            return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        doc = {**before, **values}
        if self.version is not None:
            doc[self.version] = before.get(self.version, 0) + 1
        return Taken(doc, before, holder, until, str(before.get(self.fields.holder) or ""))

    async def claim_many(self, filter: Mapping[str, Any], holder: str, *, limit: int,
                         sort: str, owner: str = "") -> Batch:
        """Take up to ``limit`` documents matching ``filter`` that nobody holds, first in
        ``sort`` order, all under ``holder`` (a token of this batch): the candidates' ids,
        one ``update_many`` taking those still takeable, one read of what it got."""
        now = self.clock()
        takeable = {**filter, **self.fields.takeable(now)}
        found = await self.collection.find(takeable, {"_id": 1}).sort(sort, 1).limit(
            limit).to_list()
        until = self.clock() + self.seconds
        if not found:
            return Batch(holder, until)
        ids = [d["_id"] for d in found]
        done = await self.collection.update_many(
            {"_id": {"$in": ids}, **takeable},
            self._update(self.fields.held(holder, until, owner)))
        if not done.matched_count:
            return Batch(holder, until)  # others were quicker
        docs = await self.collection.find(
            {"_id": {"$in": ids}, **self.fields.mine(holder)}).to_list()
        return Batch(holder, until, docs)

    async def renew(self, filter: Mapping[str, Any], holder: str) -> float | None:
        """Extend ``holder``'s lease from now: the new end, or ``None`` if it is not
        ``holder``'s any more (taken over: stop, change nothing)."""
        values = self.renewal()
        done = await self.collection.update_one({**filter, **self.fields.mine(holder)},
                                                self._update(values))
        return float(values[self.fields.until]) if done.matched_count else None

    async def release(self, filter: Mapping[str, Any], holder: str, *,
                      also: Mapping[str, Any] | None = None) -> bool:
        """Give the document up at once (``also``: further fields set in the same write);
        False if ``holder`` did not hold it any more."""
        done = await self.collection.update_one(
            {**filter, **self.fields.mine(holder)},
            self._update({**self.fields.free(), **(also or {})}))
        return bool(done.matched_count)
