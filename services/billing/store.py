"""billing's repositories: the write side's only MongoDB calls. A billing account and an
invoice are loaded typed and saved whole with the events they cause (the outbox write of
``shared.mongo.Aggregates``); documents keep the field names they always had."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.account import HISTORY_KEPT, BillingAccount, HistoryEntry
from services.billing.domain.errors import BillingAccountNotFound
from services.billing.domain.invoices import Invoice
from services.billing.domain.payment_methods import PaymentMethod
from services.billing.events import envelopes
from shared import idempotency
from shared.mongo import Aggregates, Index, apply_indexes, is_duplicate
from shared.relay import Relay


def account_not_found() -> BillingAccountNotFound:
    return BillingAccountNotFound("This company has no billing account yet; it is opened "
                                  "right after the registration, try again in a moment.")


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class BillingAccounts:
    """One billing account per company (_id = company id); history entries beyond what an
    account keeps live in the archive (_id = company id + sequence number)."""

    def __init__(self, aggregates: Aggregates, archive: AsyncCollection[Any]) -> None:
        self.aggregates = aggregates
        self.archive = archive

    @staticmethod
    def key(company_id: str) -> dict[str, Any]:
        return {"_id": company_id, "company_id": company_id}

    async def get(self, company_id: str) -> BillingAccount | None:
        doc = await self.aggregates.get(self.key(company_id))
        return None if doc is None else BillingAccount.model_validate(doc)

    async def load(self, company_id: str) -> BillingAccount:
        """The company's account; ``BillingAccountNotFound`` until it is opened."""
        account = await self.get(company_id)
        if account is None:
            raise account_not_found()
        return account

    async def open(self, account: BillingAccount) -> bool:
        """Save a new account, once however often its cause comes: False if it exists."""
        return await self.aggregates.create_once({"_id": account.company_id,
                                                  **account.to_doc()})

    async def change(self, company_id: str,
                     mutate: Callable[[BillingAccount], object | Awaitable[object]], *,
                     applied_event: str | None = None,
                     missing: Exception | None = None) -> BillingAccount:
        """Read, change and save the account whole (optimistic version, retried on a race)
        with the events the change caused. ``missing`` (default ``BillingAccountNotFound``)
        when the company has no account.

        History beyond ``HISTORY_KEPT`` entries moves to the archive (deterministic ids, so a
        retried write archives nothing twice) before the account is saved without it. Only
        entries the account had saved overflow, so the archive never holds an unsaved change."""
        async def apply(doc: dict[str, Any]) -> list[dict[str, Any]]:
            account = BillingAccount.model_validate(doc)
            result = mutate(account)
            if inspect.isawaitable(result):
                await result
            overflow = account.history[:-HISTORY_KEPT] if len(account.history) > HISTORY_KEPT \
                else []
            for entry in overflow:
                await self._archive(company_id, entry)
            if overflow:
                account.history = account.history[len(overflow):]
            doc.update(account.to_doc())
            return envelopes(account.events)

        doc = await self.aggregates.change(self.key(company_id), apply,
                                           applied_event=applied_event)
        if doc is None:
            raise missing or account_not_found()
        return BillingAccount.model_validate(doc)

    async def _archive(self, company_id: str, entry: HistoryEntry) -> None:
        # ``at_ts`` (epoch seconds) because the emulator compares stored datetimes unreliably.
        doc = {**entry.to_doc(), "_id": f"{company_id}:{entry.seq}", "company_id": company_id,
               "at_ts": _aware(entry.at).timestamp()}
        try:
            await self.archive.insert_one(doc)
        except Exception as e:
            if not is_duplicate(e):
                raise

    async def method_active_at(self, account: BillingAccount,
                               when: datetime) -> PaymentMethod | None:
        """The method that was active at ``when``: the last activation at or before
        it, in the account's history or, when that is older than what the account keeps, in
        the archive (one indexed read). With no activation that early, the one active now."""
        archived = None
        if account.activated_at(when) is None and account.history_starts_in_archive:
            found = await self.archive.find(
                {"company_id": account.company_id, "action": "activated",
                 "at_ts": {"$lte": when.timestamp()}}).sort("seq", -1).limit(1).to_list()
            archived = found[0]["payment_method_id"] if found else None
        return account.active_method_at(when, archived=archived)


class Invoices:
    """One document per invoice (_id = company id + invoice id) with its notice event."""

    def __init__(self, aggregates: Aggregates) -> None:
        self.aggregates = aggregates

    async def record_once(self, invoice: Invoice) -> bool:
        """Save a new invoice: False when it was recorded before (its event came again)."""
        return await self.aggregates.create_once(
            {"_id": f"{invoice.company_id}:{invoice.invoice_id}", **invoice.to_doc()},
            envelopes(invoice.events))


class CustomerNumbers:
    """Projection of contracts' link events: _id = company id + customer number."""

    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    async def project(self, *, company_id: str, number: str, kind: str, linked: bool,
                      link: dict[str, Any], as_of: float) -> None:
        """Apply a link or unlink; an older event than the one applied last changes nothing."""
        try:
            await self.collection.update_one(
                {"_id": f"{company_id}:{number}", "as_of": {"$lte": as_of}},
                {"$set": {"company_id": company_id, "customer_number": number, "kind": kind,
                          "linked": linked, "as_of": as_of, **link}},
                upsert=True)
        except Exception as e:
            if not is_duplicate(e):  # a newer event was applied already
                raise

    async def holder_link_kind(self, company_id: str, number: str) -> str | None:
        """The kind (landline, mobile) of the company's link to ``number`` as contract holder,
        None without one: a user link (one contract, limited rights) does not let a company
        bill to the holder's contract."""
        doc = await self.collection.find_one(
            {"_id": f"{company_id}:{number}", "company_id": company_id, "linked": True,
             "link_type": {"$eq": "holder"}})
        return None if doc is None else str(doc.get("kind"))


@dataclass
class BillingStore:
    accounts: BillingAccounts
    invoices: Invoices
    customer_numbers: CustomerNumbers
    # Creating POSTs by Idempotency-Key (``shared.idempotency``): _id = company id + key.
    idempotency: AsyncCollection[Any]

    @classmethod
    def on(cls, db: AsyncDatabase[Any], on_events: Any) -> BillingStore:
        return cls(
            accounts=BillingAccounts(Aggregates(db, "accounts", on_events=on_events),
                                     db["history_archive"]),
            invoices=Invoices(Aggregates(
                db, "invoices", on_events=on_events,
                indexes=[Index.on("company_id", "sort_key"),
                         Index.on("company_id", "customer_number", "sort_key")])),
            customer_numbers=CustomerNumbers(db["customer_numbers"]),
            idempotency=db["idempotency_keys"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.accounts.aggregates, self.invoices.aggregates]

    def published_by(self, relay: Relay) -> None:
        """The relay publishes the events saved with accounts and invoices."""
        for a in self.aggregates:
            relay.watch(a)

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.customer_numbers.collection, [Index.on("company_id", "kind")])
        # The second index finds the activation an old invoice was billed with (BIL-3).
        await apply_indexes(self.accounts.archive, [Index.on("company_id", "seq"),
                                                    Index.on("company_id", "action", "at_ts")])
        await apply_indexes(self.idempotency, idempotency.INDEXES)
