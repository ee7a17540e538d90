"""The customer numbers' projection: a ``CustomerNumber`` read from and saved to
``customer_numbers``; an event applied to it is recorded in the write that applies it, so its
redelivery has no second effect."""

from __future__ import annotations

from collections.abc import Callable

from services.identity.domain.customer_numbers import CustomerNumber
from services.identity.store.repository import Repository
from shared.mongo import ConcurrencyConflict, is_duplicate

# A company holds at most this many numbers listed at once (GET /v1/customer-numbers).
HELD_MAX = 1000


class CustomerNumberRepository(Repository[CustomerNumber]):
    model = CustomerNumber

    def company_of(self, aggregate: CustomerNumber) -> str | None:
        return aggregate.company or None

    async def get(self, number: str, *, holder: str | None = None) -> CustomerNumber | None:
        """The number's projection, or None; with ``holder`` only if that company holds it."""
        if holder is None:
            return await self.find({"_id": number})
        return await self.find({"_id": number, "holder_company_id": holder})

    async def held_by(self, company_id: str) -> list[CustomerNumber]:
        """The numbers the company holds as contract holder, in number order."""
        docs = await self._aggregates.collection.find(
            {"holder_company_id": {"$eq": company_id}}).sort("_id", 1).to_list(HELD_MAX)
        return [CustomerNumber.from_document(d) for d in docs]

    async def change(self, number: str, change: Callable[[CustomerNumber], None]
                     ) -> CustomerNumber | None:
        return await self.change_one({"_id": number}, change)

    async def upsert(self, number: str, change: Callable[[CustomerNumber], None], *,
                     event_id: str | None = None) -> CustomerNumber:
        """Change the number's projection, creating it first when it is missing; an event
        delivered twice has one effect (``event_id`` recorded in the write that applies it)."""
        def apply(doc: dict[str, object]) -> list[dict[str, object]]:
            projection = CustomerNumber.from_document(doc)
            change(projection)
            doc.clear()
            doc.update(projection.to_document())
            return []

        for _ in range(5):
            saved = await self._aggregates.change({"_id": number}, apply,
                                                  applied_event=event_id)
            if saved is not None:
                return CustomerNumber.from_document(saved)
            new = CustomerNumber.blank(number)
            change(new)
            try:
                created = await self._aggregates.create(new.to_document(),
                                                        applied_event=event_id)
                return CustomerNumber.from_document(created)
            except Exception as e:
                if not is_duplicate(e):
                    raise
        raise ConcurrencyConflict()
