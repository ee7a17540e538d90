"""contracts' HTTP API."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from services.contracts import handlers
from services.contracts.store import ContractsStore
from shared.auth import Access, Principal
from shared.http import Routes

routes = Routes()
STORE = web.AppKey("contracts_store", ContractsStore)


class ContractSpace(BaseModel):
    company_id: str
    company_name: str
    customer_numbers: list[str]
    opened_at: datetime


@routes.get("/v1/contract-space", response=ContractSpace,
            access=Access.of(scopes=("contracts:read",)), tags=("contract space",),
            problems=(404,))
async def get_contract_space(request: web.Request, principal: Principal) -> ContractSpace:
    """The calling company's contract space: its linked customer numbers."""
    space = await handlers.contract_space(request.app[STORE], principal.company_id)
    return ContractSpace(**space)
