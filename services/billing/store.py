"""billing's MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index, apply_indexes


@dataclass
class BillingStore:
    # One billing account per company (_id = company id): details, payment methods, the one
    # active method, subscriptions, history, online-invoice readers.
    accounts: Aggregates
    # One document per invoice (_id = company id + invoice id); carries the invoice notice event.
    invoices: Aggregates
    # Projection of contracts' link events: _id = company id + customer number.
    customer_numbers: AsyncCollection
    # Creating POSTs by Idempotency-Key: _id = company id + key.
    idempotency: AsyncCollection
    # History entries beyond what an account keeps: _id = company id + sequence number.
    history_archive: AsyncCollection

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> BillingStore:
        return cls(
            accounts=Aggregates(db, "accounts", on_events=on_events),
            invoices=Aggregates(db, "invoices", on_events=on_events,
                                indexes=[Index.on("company_id", "sort_key"),
                                         Index.on("company_id", "customer_number", "sort_key")]),
            customer_numbers=db["customer_numbers"],
            idempotency=db["idempotency_keys"],
            history_archive=db["history_archive"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.accounts, self.invoices]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.customer_numbers, [Index.on("company_id", "kind")])
        # The second index finds the activation an old invoice was billed with (BIL-3).
        await apply_indexes(self.history_archive, [Index.on("company_id", "seq"),
                                                   Index.on("company_id", "action", "at_ts")])
        await apply_indexes(self.idempotency, [Index.on("created_at")])
