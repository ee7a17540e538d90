"""The company's users, filtered by role or status, a page at a time (ID-12)."""

from __future__ import annotations

from typing import Any

from services.identity.domain.users import User
from shared.mongo import Aggregates

MAX_PAGE = 200


async def list_users(users: Aggregates, company_id: str, *, role: str | None = None,
                     status: str | None = None, after: str | None = None,
                     limit: int = 50) -> tuple[list[User], str | None]:
    """One page of the company's users by id; the cursor is the last id of the page."""
    query: dict[str, Any] = {"company_id": company_id}
    if role:
        query["roles"] = role
    if status:
        query["status"] = status
    if after:
        query["_id"] = {"$gt": after}
    limit = max(1, min(limit, MAX_PAGE))
    docs = await users.collection.find(query).sort("_id", 1).limit(limit + 1).to_list()
    more = len(docs) > limit
    page = [User.from_document(d) for d in docs[:limit]]
    return page, (page[-1].id if more else None)
