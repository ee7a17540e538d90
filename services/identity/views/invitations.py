"""The company's invitations, filtered by status or import, a page at a time."""

from __future__ import annotations

import time
from typing import Any

from services.identity.domain.invitations import Invitation
from shared.mongo import Aggregates
from shared.pagination import Page, paginate


async def list_invitations(invitations: Aggregates, company_id: str, *,
                           status: str | None = None, job_id: str | None = None,
                           cursor: str | None = None, limit: int = 50) -> Page[Invitation]:
    """One page of the company's invitations with their status (pending, accepted, revoked,
    expired) by id, after ``cursor`` (the kit's cursors)."""
    query: dict[str, Any] = {"company_id": company_id}
    now = time.time()
    if status in ("pending", "expired"):
        query["status"] = "pending"
        query["expires_ts"] = {"$gt": now} if status == "pending" else {"$lte": now}
    elif status:
        query["status"] = status
    if job_id:
        query["job_id"] = job_id
    return await paginate(invitations.collection, query, sort="_id", limit=limit,
                          cursor=cursor, convert=Invitation.from_document)
