"""The users' repository: a ``User`` read from and saved to ``users`` with the events its
change caused, in one single-document write (the outbox)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ReturnDocument

from services.identity.domain.users import User
from services.identity.store.repository import Repository

UserChange = Callable[[User], Awaitable[None] | None]
HOUR = 3600.0


def _query(user_id: str, company_id: str | None) -> dict[str, Any]:
    # With a company: only a user of that company (tenant isolation).
    return {"_id": user_id} if company_id is None else {"_id": user_id, "company_id": company_id}


class UserRepository(Repository[User]):
    model = User

    def company_of(self, aggregate: User) -> str | None:
        return aggregate.company_id

    async def get(self, user_id: str, *, company_id: str | None = None) -> User | None:
        """The user, or None; with ``company_id`` only a user of that company."""
        return await self.find(_query(user_id, company_id))

    async def change(self, user_id: str, change: UserChange, *,
                     company_id: str | None = None) -> User | None:
        """Read, change and save one user (see ``Repository.change_one``); None when there
        is no such user (in that company)."""
        return await self.change_one(_query(user_id, company_id), change)

    # -- the brute-force guard ---------------------------------------------------------------
    # Counters on the user document, changed by atomic updates (no version check needed: they
    # only count), each bumping the version so a concurrent whole-document save of the user
    # retries on top of them.

    async def take_password_attempt(self, user_id: str, *, failures_before_lock: int,
                                    failures_per_hour: int) -> User | None:
        """Take one password attempt before the password is checked, in the same atomic
        write that reads the user, so parallel guesses never get more checks than the limits
        allow: the user (its ``login_failures`` counting this attempt), or None when the
        account is locked, used up its hour's attempts, or is unknown."""
        users = self._aggregates.collection
        for _ in range(3):
            now = time.time()
            hour = int(now // HOUR)
            doc = await users.find_one_and_update(
                {"_id": user_id, "login_failures": {"$lt": failures_before_lock},
                 "locked_until": {"$lt": now}, "failure_hour": hour,
                 "hour_failures": {"$lt": failures_per_hour}},
                {"$inc": {"login_failures": 1, "version": 1}},
                return_document=ReturnDocument.AFTER)
            if doc is not None:
                return User.from_document(doc)
            doc = await users.find_one({"_id": user_id})
            if doc is None:
                return None
            if "login_failures" not in doc or doc["failure_hour"] != hour:
                # First login, or a new hour: the hour's failures start from zero.
                await users.update_one({"_id": user_id, "version": doc["version"]}, {
                    "$set": {"login_failures": doc.get("login_failures", 0),
                             "locked_until": doc.get("locked_until", 0.0),
                             "failure_hour": hour, "hour_failures": 0},
                    "$inc": {"version": 1}})
                continue
            if doc["hour_failures"] >= failures_per_hour:
                return None
            if doc["locked_until"] == 0.0 or doc["locked_until"] >= now:
                # Locked, or the last allowed attempt is still being checked.
                return None
            # The lock ran out: count again from zero.
            await users.update_one({"_id": user_id, "locked_until": doc["locked_until"]},
                                   {"$set": {"login_failures": 0, "locked_until": 0.0},
                                    "$inc": {"version": 1}})
        return None

    async def password_attempt_failed(self, user_id: str, *,
                                      lock_until: float | None) -> None:
        """Count a wrong password in the hour; lock the account until ``lock_until``."""
        update: dict[str, Any] = {"$inc": {"hour_failures": 1, "version": 1}}
        if lock_until is not None:
            update["$set"] = {"locked_until": lock_until}
        await self._aggregates.collection.update_one({"_id": user_id}, update)

    async def password_attempt_succeeded(self, user_id: str) -> None:
        """Consecutive failures start again from zero (the hour's failures stay counted)."""
        await self._aggregates.collection.update_one(
            {"_id": user_id}, {"$set": {"login_failures": 0}, "$inc": {"version": 1}})

    async def unlock(self, user_id: str) -> None:
        """Lift a lock and forget the failures."""
        await self._aggregates.collection.update_one(
            {"_id": user_id}, {"$set": {"login_failures": 0, "locked_until": 0.0,
                                        "hour_failures": 0}, "$inc": {"version": 1}})

    async def using_phone(self, phone: str, *, limit: int) -> list[User]:
        """Up to ``limit`` users whose login phone is ``phone`` (ID-6)."""
        docs = await self._aggregates.collection.find(
            {"phone": {"$eq": phone}}).limit(limit).to_list()
        return [User.from_document(d) for d in docs]

    async def count_activation_try(self, user: User, max_tries: int) -> User | None:
        """Count one try of the user's current activation code, atomically (parallel guesses
        get no more than ``max_tries``): the user counting it, or None (activated, a newer
        code, or its tries used)."""
        doc = await self._aggregates.collection.find_one_and_update(
            {"_id": user.id, "status": "pending_activation",
             "activation_code_hash": user.activation_code_hash,
             "activation_tries": {"$lt": max_tries}},
            {"$inc": {"activation_tries": 1, "version": 1}},
            return_document=ReturnDocument.AFTER)
        return None if doc is None else User.from_document(doc)
