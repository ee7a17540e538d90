"""A link sent to an address added to an account (ID-10): following it verifies the address.
Stored by the hash of its secret. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.identity import events
from services.identity.domain.aggregate import Aggregate


class EmailVerification(Aggregate):
    user_id: str
    company_id: str
    address: str
    status: Literal["open", "used"] = "open"
    expires_at: datetime

    @classmethod
    def send(cls, *, token: str, token_hash: str, user_id: str, company_id: str,
             address: str, old_email: str, language: str,
             expires_at: datetime) -> EmailVerification:
        """A new link to ``address``; records ``EmailChangeRequested`` carrying its secret."""
        link = cls.model_validate({"_id": token_hash, "user_id": user_id,
                                   "company_id": company_id, "address": address,
                                   "status": "open", "expires_at": expires_at})
        link.record(events.EMAIL_CHANGE_REQUESTED, events.EmailChangeRequested(
            user_id=user_id, company_id=company_id, old_email=old_email, new_email=address,
            language=language, token=token, expires_at=expires_at), subject=user_id)
        return link
