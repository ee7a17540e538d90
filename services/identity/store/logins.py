"""Login ids: one document per login id (``email:…``, ``username:…``, ``phone:…``), its _id
the key, pointing at the user: the unique index on _id makes each id one account's."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo import is_duplicate


class LoginIds:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._logins = collection

    async def claim(self, key: str, user_id: str) -> bool:
        """Reserve ``key`` for the user: True if it is the user's now (or was already), False
        if another user has it."""
        try:
            await self._logins.insert_one({"_id": key, "user_id": user_id})
            return True
        except Exception as e:
            if not is_duplicate(e):
                raise
        return await self.owner(key) == user_id

    async def owner(self, key: str) -> str | None:
        """The user ``key`` logs in, or None."""
        claim = await self._logins.find_one({"_id": key})
        return None if claim is None else str(claim["user_id"])

    async def first_owner(self, keys: list[str]) -> str | None:
        """The user the first of ``keys`` that is claimed logs in (one query), or None."""
        claims = await self._logins.find({"_id": {"$in": keys}}).to_list()
        owners = {claim["_id"]: str(claim["user_id"]) for claim in claims}
        return next((owners[k] for k in keys if k in owners), None)

    async def release(self, key: str, user_id: str) -> None:
        """Give ``key`` up, if it is the user's."""
        await self._logins.delete_one({"_id": key, "user_id": user_id})
