"""The invitations' repository: an ``Invitation`` read from and saved to ``invitations`` with
the events its change caused, in one single-document write (the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.identity.domain.invitations import Invitation
from services.identity.store.repository import Repository

InvitationChange = Callable[[Invitation], Awaitable[None] | None]
# An address has at most a few open invitations in a company (one, unless a race made two).
OPEN_PER_ADDRESS = 20


def _query(invitation_id: str, company_id: str | None) -> dict[str, Any]:
    # With a company: only an invitation of that company (tenant isolation).
    if company_id is None:
        return {"_id": invitation_id}
    return {"_id": invitation_id, "company_id": company_id}


class InvitationRepository(Repository[Invitation]):
    model = Invitation

    def company_of(self, aggregate: Invitation) -> str | None:
        return aggregate.company_id

    async def get(self, invitation_id: str, *,
                  company_id: str | None = None) -> Invitation | None:
        """The invitation, or None; with ``company_id`` only one of that company."""
        return await self.find(_query(invitation_id, company_id))

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        """The invitation whose current link has this hash."""
        return await self.find({"token_hash": token_hash})

    async def pending_for(self, company_id: str, email: str) -> list[Invitation]:
        """The company's invitations of the address stored as pending (expired ones too)."""
        docs = await self._aggregates.collection.find(
            {"company_id": company_id, "email": email, "status": "pending"}).to_list(
            OPEN_PER_ADDRESS)
        return [Invitation.from_document(d) for d in docs]

    async def change(self, invitation_id: str, change: InvitationChange) -> Invitation | None:
        """Read, change and save one invitation (see ``Repository.change_one``)."""
        return await self.change_one({"_id": invitation_id}, change)
