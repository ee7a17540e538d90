"""Sessions' storage: refresh tokens (one document per session, its family, holding the hash
of the current token; tokens issued as a bare secret had a document each, by that hash) and
the login attempts waiting for an SMS code (aggregates with the events of their codes)."""

from __future__ import annotations

import time
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from services.identity.domain.sessions import (
    AttemptStatus,
    LoginAttempt,
    RefreshToken,
    SessionFamily,
)
from services.identity.store.repository import Repository


class RefreshTokens:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._tokens = collection

    async def start(self, family: SessionFamily) -> None:
        await self._tokens.insert_one(family.model_dump(by_alias=True))

    async def family(self, family_id: str) -> SessionFamily | None:
        doc = await self._tokens.find_one({"_id": family_id})
        return None if doc is None else SessionFamily.model_validate(doc)

    async def rotate_family(self, family_id: str, token_hash: str, *, new_hash: str,
                            issued_at: float, expires: float) -> SessionFamily | None:
        """Replace an active family's current token, atomically (one of two parallel
        rotations wins): the family as it was, or None when ``token_hash`` is not its current
        token or the family is unknown or revoked."""
        doc = await self._tokens.find_one_and_update(
            {"_id": family_id, "token_hash": token_hash, "status": "active"},
            {"$set": {"token_hash": new_hash, "issued_at": issued_at, "expires": expires}})
        return None if doc is None else SessionFamily.model_validate(doc)

    async def get(self, token_hash: str) -> RefreshToken | None:
        """A token issued as a bare secret."""
        doc = await self._tokens.find_one({"_id": token_hash})
        return None if doc is None else RefreshToken.model_validate(doc)

    async def rotate(self, token_hash: str) -> RefreshToken | None:
        """Mark an active token issued as a bare secret rotated, atomically: the token as it
        was, or None when it is not active (unknown, rotated or revoked already)."""
        doc = await self._tokens.find_one_and_update(
            {"_id": token_hash, "status": "active"}, {"$set": {"status": "rotated"}})
        return None if doc is None else RefreshToken.model_validate(doc)

    async def revoke_family(self, family_id: str) -> None:
        await self._tokens.update_many({"family_id": family_id},
                                       {"$set": {"status": "revoked"}})

    async def revoke_user(self, user_id: str) -> None:
        await self._tokens.update_many({"user_id": user_id}, {"$set": {"status": "revoked"}})


class LoginAttemptRepository(Repository[LoginAttempt]):
    model = LoginAttempt

    def company_of(self, aggregate: LoginAttempt) -> str | None:
        return aggregate.company_id

    async def get(self, attempt_id: str, *, status: AttemptStatus | None = None,
                  purpose: str | None = None) -> LoginAttempt | None:
        query: dict[str, Any] = {"_id": attempt_id}
        if status is not None:
            query["status"] = status
        if purpose is not None:
            query["purpose"] = purpose
        return await self.find(query)

    async def change(self, attempt_id: str, change: Any) -> LoginAttempt | None:
        return await self.change_one({"_id": attempt_id}, change)

    async def count_try(self, attempt_id: str, max_tries: int) -> LoginAttempt | None:
        """Count one code entry of a pending attempt with tries left, atomically (parallel
        guesses never get more than ``max_tries``): the attempt counting it, or None."""
        doc = await self._aggregates.collection.find_one_and_update(
            {"_id": attempt_id, "status": "pending", "tries": {"$lt": max_tries}},
            {"$inc": {"tries": 1, "version": 1}}, return_document=ReturnDocument.AFTER)
        return None if doc is None else LoginAttempt.from_document(doc)

    async def end(self, attempt_id: str, *, choosing: bool, choose_seconds: float) -> bool:
        """A pending attempt whose code was right ends (or waits for the account to be
        picked); False when another request ended it first."""
        done = await self._aggregates.collection.find_one_and_update(
            {"_id": attempt_id, "status": "pending"},
            {"$set": {"status": "choosing" if choosing else "done",
                      "choose_until": time.time() + choose_seconds},
             "$inc": {"version": 1}})
        return done is not None

    async def chosen(self, attempt_id: str, user_id: str) -> bool:
        """The account picked ends a choosing attempt; False when it was picked already."""
        done = await self._aggregates.collection.find_one_and_update(
            {"_id": attempt_id, "status": "choosing"},
            {"$set": {"status": "done", "user_id": user_id}, "$inc": {"version": 1}})
        return done is not None
