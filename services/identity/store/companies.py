"""The companies' repository: a ``Company`` read from and saved to ``companies`` with the
events its change caused, in one single-document write (the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.identity.domain.companies import Company
from services.identity.store.repository import Repository

CompanyChange = Callable[[Company], Awaitable[None] | None]


class CompanyRepository(Repository[Company]):
    model = Company

    def company_of(self, aggregate: Company) -> str | None:
        return aggregate.id

    async def get(self, company_id: str) -> Company | None:
        return await self.find({"_id": company_id})

    async def change(self, company_id: str, change: CompanyChange) -> Company | None:
        """Read, change and save one company (see ``Repository.change_one``); None when
        there is no such company."""
        return await self.change_one({"_id": company_id}, change)
