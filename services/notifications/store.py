"""notifications' MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index


@dataclass
class NotificationsStore:
    # One delivery per event, channel and recipient; its _id says which (deduplication).
    deliveries: Aggregates

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> NotificationsStore:
        return cls(deliveries=Aggregates(db, "deliveries", on_events=on_events, indexes=[
            Index.on("company_id", "created_at"), Index.on("status")]))

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.deliveries]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
