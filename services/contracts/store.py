"""contracts' MongoDB collections and their indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index


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

    async def take_password_attempt(self, number: str, password_hash: str,
                                    max_attempts: int) -> dict[str, Any] | None:
        """Count one attempt at the number's current password, atomically: of many concurrent
        attempts at most ``max_attempts`` get the document back (the others get None)."""
        return await self.numbers.collection.find_one_and_update(
            {"_id": number, "otp.hash": password_hash, "otp_attempts": {"$lt": max_attempts}},
            # The version moves too, so a command that read the document before loses.
            {"$inc": {"otp_attempts": 1, "version": 1}},
            return_document=ReturnDocument.AFTER)

    async def linked_numbers(self, company_id: str) -> list[dict[str, Any]]:
        return await self.numbers.collection.find(
            {"linked_companies": company_id}).sort("_id", 1).to_list(None)
