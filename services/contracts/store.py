"""contracts' MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.mongo import Aggregates, ConcurrencyConflict, Index, apply_indexes

# Wrong one-time passwords per (customer number, company) lock that company; per customer
# number across companies they only alert. Unknown numbers are counted the same way.
PER_COMPANY, ACROSS_COMPANIES = "company", "number"
ATTEMPT_INDEXES = [Index.on("number", "kind")]


@dataclass
class ContractsStore:
    # One contract space per company; its _id is the company id.
    spaces: Aggregates
    # One customer number from the CRM with its contracts, password and links; _id = number.
    numbers: Aggregates
    # identity's users, projected from its events (CON-5 search, CON-6, CON-7); _id = user id.
    users: Aggregates
    # Rights one company transferred to another master administrator; _id = "<from>:<user>".
    transfers: Aggregates
    # Contracts a company assigned to a sub-administrator; _id = "<company>:<user>".
    assignments: Aggregates
    # Authorised contacts of a customer (CON-7); unique per company, number and email.
    contacts: Aggregates
    # One-time password attempts, per (number, company) and per number; not aggregates
    # (unknown numbers have no document to count on).
    attempts: AsyncCollection
    # The kit's rate-limit counters (shared.ratelimit).
    counters: AsyncCollection
    # Every change of an authorised contact (CON-7): _id = "<contact id>:<revision>".
    contact_history: AsyncCollection

    @classmethod
    def on(cls, db: AsyncDatabase, on_events) -> ContractsStore:
        return cls(
            spaces=Aggregates(db, "contract_spaces", on_events=on_events),
            # No index on ``linked_companies``: on the emulator an index over an array field
            # makes equality on a member match nothing (measured).
            numbers=Aggregates(db, "customer_numbers", on_events=on_events),
            users=Aggregates(db, "users", on_events=on_events,
                             indexes=[Index.on("email"), Index.on("company_id")]),
            transfers=Aggregates(db, "permission_transfers", on_events=on_events,
                                 indexes=[Index.on("to_user_id"), Index.on("from_company_id")]),
            assignments=Aggregates(db, "sub_admin_contracts", on_events=on_events,
                                   indexes=[Index.on("company_id")]),
            contacts=Aggregates(db, "authorised_contacts", on_events=on_events, indexes=[
                Index.on("company_id", "customer_number", "email", unique=True)]),
            attempts=db["password_attempts"],
            counters=db["counters"],
            contact_history=db["authorised_contact_history"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.spaces, self.numbers, self.users, self.transfers, self.assignments,
                self.contacts]

    @property
    def publishing(self) -> list[Aggregates]:
        """The collections whose writes carry events (the relay watches these)."""
        return [self.numbers, self.transfers]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.attempts, ATTEMPT_INDEXES)
        await apply_indexes(self.contact_history, [Index.on("customer_number", "sort_key"),
                                                   Index.on("company_id", "customer_number",
                                                            "sort_key")])

    async def take_password_attempt(self, number: str, company_id: str, generation: str,
                                    max_attempts: int) -> int | None:
        """Count the company's attempt at the number's password ``generation``, atomically:
        of many concurrent attempts at most ``max_attempts`` get their count, the others None
        (that company is locked out of this password; other companies are not)."""
        return await self._count(f"{number}|{company_id}", number, PER_COMPANY, generation,
                                 max_attempts)

    async def give_back_password_attempt(self, number: str, company_id: str,
                                         generation: str) -> None:
        """The attempt used the right password: it does not count towards the lock."""
        await self.attempts.update_one(
            {"_id": f"{number}|{company_id}", "generation": generation, "attempts": {"$gt": 0}},
            {"$inc": {"attempts": -1}})

    async def count_wrong_password(self, number: str, generation: str) -> int:
        """One more wrong password for the number from any company; the count so far."""
        counted = await self._count(number, number, ACROSS_COMPANIES, generation, None)
        return counted or 0

    async def someone_locked(self, number: str, generation: str, max_attempts: int) -> bool:
        """Whether a company used up its attempts at the number's current password."""
        return await self.attempts.find_one({
            "number": number, "kind": PER_COMPANY, "generation": generation,
            "attempts": {"$gte": max_attempts}}) is not None

    async def _count(self, _id: str, number: str, kind: str, generation: str,
                     limit: int | None) -> int | None:
        # Counts of an older password do not count: the first attempt at a new one restarts
        # the count (filtered on the generation read, so of two racing restarts one wins).
        below = {"attempts": {"$lt": limit}} if limit is not None else {}
        for _ in range(10):
            taken = await self.attempts.find_one_and_update(
                {"_id": _id, "generation": generation, **below}, {"$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER)
            if taken is not None:
                return taken["attempts"]
            current = await self.attempts.find_one({"_id": _id})
            if current is None:
                try:
                    await self.attempts.insert_one({"_id": _id, "number": number, "kind": kind,
                                                    "generation": generation, "attempts": 1})
                    return 1
                except DuplicateKeyError:
                    continue
            if current["generation"] == generation:
                if limit is not None and current["attempts"] >= limit:
                    return None
                continue
            restarted = await self.attempts.update_one(
                {"_id": _id, "generation": current["generation"]},
                {"$set": {"generation": generation, "attempts": 1}})
            if restarted.matched_count == 1:
                return 1
        raise ConcurrencyConflict()

    async def linked_numbers(self, company_id: str) -> list[dict[str, Any]]:
        return await self.numbers.collection.find(
            {"linked_companies": company_id}).sort("_id", 1).to_list(None)
