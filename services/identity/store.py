"""identity's MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index, apply_indexes


@dataclass
class IdentityStore:
    registrations: Aggregates
    users: Aggregates
    companies: Aggregates
    # Uniqueness claims: one document per login id (``email:<address>``), _id is the key.
    logins: AsyncCollection
    signing_keys: AsyncCollection

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> IdentityStore:
        return cls(
            registrations=Aggregates(db, "registrations", on_events=on_events,
                                     indexes=[Index.on("token_hash", unique=True)]),
            users=Aggregates(db, "users", on_events=on_events,
                             indexes=[Index.on("company_id"), Index.on("email")]),
            companies=Aggregates(db, "companies", on_events=on_events),
            logins=db["logins"],
            signing_keys=db["signing_keys"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.registrations, self.users, self.companies]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.logins, [Index.on("user_id")])
