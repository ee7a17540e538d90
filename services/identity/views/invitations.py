"""The company's invitations, filtered by status or import, a page at a time."""

from __future__ import annotations

import time
from typing import Any

from services.identity.domain.invitations import Invitation
from shared.mongo import Aggregates

MAX_PAGE = 200


async def list_invitations(invitations: Aggregates, company_id: str, *,
                           status: str | None = None, job_id: str | None = None,
                           after: str | None = None, limit: int = 50
                           ) -> tuple[list[Invitation], str | None]:
    """The company's invitations with their status (pending, accepted, revoked, expired), in
    id order after ``after``; the cursor of the next page, if any."""
    query: dict[str, Any] = {"company_id": company_id}
    now = time.time()
    if status in ("pending", "expired"):
        query["status"] = "pending"
        query["expires_ts"] = {"$gt": now} if status == "pending" else {"$lte": now}
    elif status:
        query["status"] = status
    if job_id:
        query["job_id"] = job_id
    if after:
        query["_id"] = {"$gt": after}
    limit = max(1, min(limit, MAX_PAGE))
    docs = await invitations.collection.find(query).sort("_id", 1).limit(limit + 1).to_list()
    more = len(docs) > limit
    page = [Invitation.from_document(d) for d in docs[:limit]]
    return page, (page[-1].id if more else None)
