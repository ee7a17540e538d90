"""Password resets (``password_resets``): a request queued for the address or login id, then
a link or a code that works once. The atomic writes that guard them: a code's tries, the
single use, and ending a user's older open resets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ReturnDocument

from services.identity.domain.password_resets import PasswordReset
from services.identity.store.repository import Repository
from shared.mongo import Aggregates


class PasswordResets(Repository[PasswordReset]):
    model = PasswordReset

    def __init__(self, resets: Aggregates) -> None:
        super().__init__(resets)
        self._resets = resets.collection

    def company_of(self, aggregate: PasswordReset) -> str | None:
        return aggregate.company_id

    async def get(self, reset_id: str) -> PasswordReset | None:
        return await self.find({"_id": reset_id})

    async def by_token_hash(self, token_hash: str) -> PasswordReset | None:
        return await self.find({"token_hash": token_hash})

    async def change(self, reset_id: str,
                     change: Callable[[PasswordReset], Awaitable[None] | None], *,
                     applied_event: str | None = None) -> PasswordReset | None:
        """Read, change and save one reset (see ``Repository.change_one``); with
        ``applied_event``, the redelivery of that event changes nothing."""
        return await self.change_one({"_id": reset_id}, change, applied_event=applied_event)

    async def count_code_try(self, reset_id: str, max_tries: int) -> PasswordReset | None:
        """Count one try of a reset code with tries left, atomically: the reset counting it,
        or None (unknown, or its tries used)."""
        doc = await self._resets.find_one_and_update(
            {"_id": reset_id, "kind": "code", "tries": {"$lt": max_tries}},
            {"$inc": {"tries": 1, "version": 1}}, return_document=ReturnDocument.AFTER)
        return None if doc is None else PasswordReset.from_document(doc)

    async def is_code(self, reset_id: str) -> bool:
        return await self._resets.find_one({"_id": reset_id, "kind": "code"}) is not None

    async def give_back_try(self, reset_id: str) -> None:
        await self._resets.update_one({"_id": reset_id}, {"$inc": {"tries": -1, "version": 1}})

    async def use(self, reset_id: str) -> bool:
        """Mark an open reset used, atomically: False when it is not open (used already)."""
        used = await self._resets.find_one_and_update(
            {"_id": reset_id, "status": "open"},
            {"$set": {"status": "used"}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER)
        return used is not None

    async def end_open(self, user_id: str, *, before: float | None = None) -> None:
        """Every open reset of the user (asked for before ``before``) stops working."""
        query: dict[str, Any] = {"user_id": user_id, "status": "open"}
        if before is not None:
            # A number, not a datetime: the emulator compares numbers reliably.
            query["asked_at"] = {"$lt": before}
        await self._resets.update_many(query, {"$set": {"status": "ended"},
                                               "$inc": {"version": 1}})

    async def end_open_of_number(self, number: str, *, before: float) -> None:
        """Every open link to open the account of a customer number's holder, asked for
        before ``before``, stops working."""
        await self._resets.update_many(
            {"customer_number": number, "user_id": None, "status": "open",
             "asked_at": {"$lt": before}},
            {"$set": {"status": "ended"}, "$inc": {"version": 1}})
