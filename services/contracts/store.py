"""contracts' repository: each aggregate loaded typed and saved whole with the envelopes of the
events it recorded (``shared.mongo.Aggregates``: one single-document write), the password
attempt counters, the contact history, and the indexes. The write side's only MongoDB calls."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.contracts import events
from services.contracts.domain.companies import ContractSpace, ProjectedUser
from services.contracts.domain.contacts import AuthorisedContact, ContactChange
from services.contracts.domain.customer_numbers import CustomerNumber
from services.contracts.domain.model import Aggregate
from services.contracts.domain.permissions import PermissionTransfer, SubAdminAssignment
from shared.mongo import Aggregates, ConcurrencyConflict, EventsHandoff, Index, apply_indexes

# Wrong one-time passwords per (customer number, company) lock that company; per customer
# number across companies they only alert. Unknown numbers are counted the same way.
PER_COMPANY, ACROSS_COMPANIES = "company", "number"
ATTEMPT_INDEXES = [Index.on("number", "kind")]

A = TypeVar("A", bound=Aggregate)
Filter = dict[str, Any]
# Changes an aggregate in place (raising refuses the change: nothing is written).
Mutate = Callable[[A], object | Awaitable[object]]


class Repository(Generic[A]):
    """The aggregates of one collection, loaded as ``model`` and saved with their events."""

    def __init__(self, aggregates: Aggregates, model: type[A]) -> None:
        self.aggregates = aggregates
        self.model = model

    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        """For the read side (views.py) and index checks."""
        return self.aggregates.collection

    async def get(self, filter: Filter) -> A | None:
        doc = await self.aggregates.get(filter)
        return None if doc is None else self.model.model_validate(doc)

    async def create(self, aggregate: A, *, applied_event: str | None = None) -> A:
        """Insert a new aggregate; ``DuplicateKeyError`` if its ``_id`` or a unique key
        exists."""
        recorded = events.envelopes(aggregate, aggregate.collect_events())
        doc = await self.aggregates.create(aggregate.to_doc(), recorded,
                                           applied_event=applied_event)
        return self.model.model_validate(doc)

    async def create_once(self, aggregate: A, *, applied_event: str | None = None) -> bool:
        """Create an aggregate whose ``_id`` is derived from its cause: False if it exists
        already (the cause came again)."""
        try:
            await self.create(aggregate, applied_event=applied_event)
            return True
        except DuplicateKeyError:
            return False

    async def change(self, filter: Filter, mutate: Mutate[A], *,
                     applied_event: str | None = None) -> A | None:
        """Load, change and save one aggregate, again when a concurrent write won; None when
        none matches. With ``applied_event`` a redelivered event changes nothing."""

        async def apply(doc: dict[str, Any]) -> list[dict[str, Any]]:
            aggregate = self.model.model_validate(doc)
            outcome = mutate(aggregate)
            if inspect.isawaitable(outcome):
                await outcome
            doc.update(aggregate.to_doc())
            return events.envelopes(aggregate, aggregate.collect_events())

        saved = await self.aggregates.change(filter, apply, applied_event=applied_event)
        return None if saved is None else self.model.model_validate(saved)

    async def change_or_create(self, _id: str, initial: Callable[[], A], mutate: Mutate[A], *,
                               applied_event: str | None = None) -> A:
        """Change the aggregate ``_id``, creating it from ``initial()`` first when missing."""
        for _ in range(5):
            saved = await self.change({"_id": _id}, mutate, applied_event=applied_event)
            if saved is not None:
                return saved
            aggregate = initial()
            outcome = mutate(aggregate)
            if inspect.isawaitable(outcome):
                await outcome
            try:
                return await self.create(aggregate, applied_event=applied_event)
            except DuplicateKeyError:
                continue
        raise ConcurrencyConflict()


@dataclass
class ContractsStore:
    # One contract space per company; its _id is the company id.
    spaces: Repository[ContractSpace]
    # One customer number from the CRM with its contracts, password and links; _id = number.
    numbers: Repository[CustomerNumber]
    # identity's users, projected from its events (CON-5 search, CON-6, CON-7); _id = user id.
    users: Repository[ProjectedUser]
    # Rights one company transferred to another master administrator; _id = "<from>:<user>".
    transfers: Repository[PermissionTransfer]
    # Contracts a company assigned to a sub-administrator; _id = "<company>:<user>".
    assignments: Repository[SubAdminAssignment]
    # Authorised contacts of a customer (CON-7); unique per company, number and email.
    contacts: Repository[AuthorisedContact]
    # One-time password attempts, per (number, company) and per number; not aggregates
    # (unknown numbers have no document to count on).
    attempts: AsyncCollection[dict[str, Any]]
    # The kit's rate-limit counters (shared.ratelimit).
    counters: AsyncCollection[dict[str, Any]]
    # Every change of an authorised contact (CON-7): _id = "<contact id>:<revision>".
    contact_history: AsyncCollection[dict[str, Any]]

    @classmethod
    def on(cls, db: AsyncDatabase[dict[str, Any]],
           on_events: Callable[[], None] | EventsHandoff | None = None) -> ContractsStore:
        def repository(name: str, model: type[A], indexes: list[Index] | None = None
                       ) -> Repository[A]:
            return Repository(Aggregates(db, name, on_events=on_events,
                                         indexes=indexes or []), model)

        return cls(
            spaces=repository("contract_spaces", ContractSpace),
            # No index on ``linked_companies``: on the emulator an index over an array field
            # makes equality on a member match nothing (measured).
            numbers=repository("customer_numbers", CustomerNumber),
            users=repository("users", ProjectedUser,
                             [Index.on("email"), Index.on("company_id")]),
            transfers=repository("permission_transfers", PermissionTransfer,
                                 [Index.on("to_user_id"), Index.on("from_company_id")]),
            assignments=repository("sub_admin_contracts", SubAdminAssignment,
                                   [Index.on("company_id")]),
            contacts=repository("authorised_contacts", AuthorisedContact, [
                Index.on("company_id", "customer_number", "email", unique=True)]),
            attempts=db["password_attempts"],
            counters=db["counters"],
            contact_history=db["authorised_contact_history"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [r.aggregates for r in (self.spaces, self.numbers, self.users, self.transfers,
                                       self.assignments, self.contacts)]

    @property
    def publishing(self) -> list[Aggregates]:
        """The collections whose writes carry events (the relay watches these)."""
        return [self.numbers.aggregates, self.transfers.aggregates]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.attempts, ATTEMPT_INDEXES)
        await apply_indexes(self.contact_history, [Index.on("customer_number", "sort_key"),
                                                   Index.on("company_id", "customer_number",
                                                            "sort_key")])

    # -- what commands look up ---------------------------------------------------------------
    async def linked_numbers(self, company_id: str) -> list[CustomerNumber]:
        docs = await self.numbers.collection.find(
            {"linked_companies": company_id}).sort("_id", 1).to_list(None)
        return [CustomerNumber.model_validate(d) for d in docs]

    async def users_by_email(self, email: str, *, company_id: str | None = None,
                             limit: int = 50) -> list[ProjectedUser]:
        query: Filter = {"email": email}
        if company_id is not None:
            query["company_id"] = company_id
        docs = await self.users.collection.find(query).to_list(limit)
        return [ProjectedUser.model_validate(d) for d in docs]

    # -- authorised contacts' history (CON-7) --------------------------------------------------
    async def keep_change(self, entry: ContactChange | None) -> None:
        """Put an entry into the history collection (once, however often it is kept)."""
        if entry is None:
            return
        with contextlib.suppress(DuplicateKeyError):
            await self.contact_history.insert_one({**entry.to_doc(), "_id": entry.entry_id})

    async def delete_contact(self, contact: AuthorisedContact) -> bool:
        result = await self.contacts.collection.delete_one(
            {"_id": contact.id, "company_id": contact.company_id,
             "customer_number": contact.customer_number})
        return result.deleted_count == 1

    # -- one-time password attempts -----------------------------------------------------------
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
                return int(taken["attempts"])
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
