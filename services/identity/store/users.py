"""The users' repository: a ``User`` read from and saved to ``users`` with the events its
change caused, in one single-document write (the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.identity.domain.users import User
from services.identity.store.repository import Repository

UserChange = Callable[[User], Awaitable[None] | None]


def _query(user_id: str, company_id: str | None) -> dict[str, Any]:
    # With a company: only a user of that company (tenant isolation).
    return {"_id": user_id} if company_id is None else {"_id": user_id, "company_id": company_id}


class UserRepository(Repository[User]):
    model = User

    def company_of(self, aggregate: User) -> str | None:
        return aggregate.company_id

    async def get(self, user_id: str, *, company_id: str | None = None) -> User | None:
        """The user, or None; with ``company_id`` only a user of that company."""
        return await self.find(_query(user_id, company_id))

    async def change(self, user_id: str, change: UserChange, *,
                     company_id: str | None = None) -> User | None:
        """Read, change and save one user (see ``Repository.change_one``); None when there
        is no such user (in that company)."""
        return await self.change_one(_query(user_id, company_id), change)
