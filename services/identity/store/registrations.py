"""The registrations' repository: a ``Registration`` read from and saved to
``registrations`` (found by its link's token hash) with the events it recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.identity.domain.registration import Registration
from services.identity.store.repository import Repository


class RegistrationRepository(Repository[Registration]):
    model = Registration

    def company_of(self, aggregate: Registration) -> str | None:
        # Nothing exists of the company before the registration completes.
        return None

    async def by_token_hash(self, token_hash: str) -> Registration | None:
        return await self.find({"token_hash": token_hash})

    async def change(self, registration_id: str,
                     change: Callable[[Registration], Awaitable[None] | None]
                     ) -> Registration | None:
        return await self.change_one({"_id": registration_id}, change)
