"""billing's MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates


@dataclass
class BillingStore:
    # One billing account per company; its _id is the company id.
    accounts: Aggregates

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> BillingStore:
        return cls(accounts=Aggregates(db, "accounts", on_events=on_events))

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.accounts]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
