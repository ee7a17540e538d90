"""Email verification links (``email_verifications``), by the hash of their secret."""

from __future__ import annotations

from services.identity.domain.email_verifications import EmailVerification
from services.identity.store.repository import Repository


class EmailVerificationRepository(Repository[EmailVerification]):
    model = EmailVerification

    def company_of(self, aggregate: EmailVerification) -> str | None:
        return aggregate.company_id

    async def get(self, token_hash: str) -> EmailVerification | None:
        return await self.find({"_id": token_hash})

    async def use(self, token_hash: str) -> bool:
        """Mark an open link used, atomically: False when it was used already."""
        used = await self._aggregates.collection.find_one_and_update(
            {"_id": token_hash, "status": "open"},
            {"$set": {"status": "used"}, "$inc": {"version": 1}})
        return used is not None
