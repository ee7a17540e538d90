"""notifications' MongoDB collections and their indexes.

    deliveries   the delivery log: one document per (event, channel, recipient); its _id is
                 derived from those three (deduplication). The outbox of
                 notifications.delivery.failed.v1 and notifications.resend.requested.v1.
    users        projection of identity's users: company, language, hashed email address
    companies    projection of identity's companies: language (NOT-2 fallback)
    preferences  a user's opt-outs of non-essential messages per channel
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index, apply_indexes


@dataclass
class NotificationsStore:
    deliveries: Aggregates
    users: AsyncCollection
    companies: AsyncCollection
    preferences: AsyncCollection

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> NotificationsStore:
        return cls(
            deliveries=Aggregates(db, "deliveries", on_events=on_events, indexes=[
                Index.on("sort_key"), Index.on("company_id", "sort_key"),
                Index.on("recipient_key", "sort_key"), Index.on("status", "sort_key"),
                Index.on("event_id")]),
            users=db["users"], companies=db["companies"], preferences=db["preferences"])

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.deliveries]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.users, [Index.on("email_key")])
