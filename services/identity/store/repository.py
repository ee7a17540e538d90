"""What every repository of identity's aggregates does: read a document into its typed
aggregate, save a new one or a change of one with the events it recorded, in the one
single-document write of ``shared.mongo.Aggregates`` (the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from services.identity import events
from services.identity.domain.aggregate import Aggregate
from shared.mongo import Aggregates

A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    model: type[A]

    def __init__(self, aggregates: Aggregates) -> None:
        self._aggregates = aggregates

    def company_of(self, aggregate: A) -> str | None:
        """The company the aggregate's events belong to (their envelope's ``companyid``)."""
        raise NotImplementedError

    def envelopes(self, aggregate: A) -> list[dict[str, Any]]:
        """The envelopes of the events the aggregate recorded (taken from it)."""
        company_id = self.company_of(aggregate)
        return [events.envelope(r.spec, r.data, subject=r.subject or aggregate.id,
                                company_id=company_id)
                for r in aggregate.take_events()]

    async def find(self, query: dict[str, Any]) -> A | None:
        doc = await self._aggregates.get(query)
        return None if doc is None else self.model.from_document(doc)

    async def create(self, aggregate: A) -> bool:
        """Save a new aggregate with its events; False (nothing written) if one with its id
        exists already: its id derives from its cause, which came again."""
        return await self._aggregates.create_once(aggregate.to_document(),
                                                  self.envelopes(aggregate))

    async def change_one(self, query: dict[str, Any],
                         change: Callable[[A], Awaitable[None] | None], *,
                         applied_event: str | None = None) -> A | None:
        """Read, change and save the aggregate ``query`` finds, again when a concurrent write
        won; None when there is none. ``change`` changes it in place, recording the events
        it causes; to refuse the change it raises (nothing is written)."""
        async def apply(doc: dict[str, Any]) -> list[dict[str, Any]]:
            aggregate = self.model.from_document(doc)
            done = change(aggregate)
            if done is not None:
                await done
            doc.clear()
            doc.update(aggregate.to_document())
            return self.envelopes(aggregate)
        saved = await self._aggregates.change(query, apply, applied_event=applied_event)
        return None if saved is None else self.model.from_document(saved)
