"""The company's users, filtered by role or status, a page at a time (ID-12)."""

from __future__ import annotations

from typing import Any

from services.identity.domain.users import User
from shared.mongo import Aggregates
from shared.pagination import Page, paginate


async def list_users(users: Aggregates, company_id: str, *, role: str | None = None,
                     status: str | None = None, cursor: str | None = None,
                     limit: int = 50) -> Page[User]:
    """One page of the company's users by id, after ``cursor`` (the kit's cursors)."""
    query: dict[str, Any] = {"company_id": company_id}
    if role:
        query["roles"] = role
    if status:
        query["status"] = status
    return await paginate(users.collection, query, sort="_id", limit=limit, cursor=cursor,
                          convert=User.from_document)
