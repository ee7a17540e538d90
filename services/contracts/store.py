"""contracts' MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates


@dataclass
class ContractsStore:
    # One contract space per company; its _id is the company id.
    spaces: Aggregates

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> ContractsStore:
        return cls(spaces=Aggregates(db, "contract_spaces", on_events=on_events))

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.spaces]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
