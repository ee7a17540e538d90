"""Claims of company login domains (ID-14): one document ``domain:<handle>`` per handle in the
``logins`` collection (beside the login ids), naming the company holding it and until when
(``until``, epoch seconds) it stays that company's once it is not its current handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.identity.domain.users import User
from shared.mongo import is_duplicate


@dataclass(frozen=True, slots=True)
class DomainClaim:
    """A handle's claim as read: the company holding it, and until when (None: not set)."""

    company_id: str
    until: float | None


def _key(handle: str) -> str:
    return f"domain:{handle}"


class LoginDomainClaims:
    def __init__(self, logins: AsyncCollection[dict[str, Any]]) -> None:
        self._logins = logins

    async def claim_free(self, handle: str, company_id: str, until: float) -> bool:
        """Claim a handle nobody claimed; False if a claim exists."""
        try:
            await self._logins.insert_one({"_id": _key(handle), "company_id": company_id,
                                           "until": until})
            return True
        except Exception as e:
            if not is_duplicate(e):
                raise
            return False

    async def get(self, handle: str) -> DomainClaim | None:
        doc = await self._logins.find_one({"_id": _key(handle)})
        if doc is None:
            return None
        until = doc.get("until")
        return DomainClaim(str(doc["company_id"]), None if until is None else float(until))

    async def take_over(self, handle: str, held: DomainClaim, company_id: str,
                        until: float) -> bool:
        """Move the claim as read (``held``) to the company; False if it changed meanwhile."""
        taken = await self._logins.update_one(
            {"_id": _key(handle), "company_id": held.company_id, "until": held.until},
            {"$set": {"company_id": company_id, "until": until}})
        return taken.modified_count == 1

    async def hold_until(self, handle: str, company_id: str, until: float) -> None:
        """The company's claim of the handle runs until ``until``."""
        await self._logins.update_one({"_id": _key(handle), "company_id": company_id},
                                      {"$set": {"until": until}})

    async def release(self, handle: str, company_id: str) -> None:
        """Give up the company's claim of the handle."""
        await self._logins.delete_one({"_id": _key(handle), "company_id": company_id})


async def company_users_after(users: AsyncCollection[dict[str, Any]], company_id: str,
                              after: str | None, limit: int) -> list[User]:
    """A page of the company's users in id order, after ``after``."""
    query: dict[str, Any] = {"company_id": company_id}
    if after is not None:
        query["_id"] = {"$gt": after}
    docs = await users.find(query).sort("_id", 1).limit(limit).to_list()
    return [User.from_document(d) for d in docs]
