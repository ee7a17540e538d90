"""billing's HTTP API."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from services.billing import handlers
from services.billing.store import BillingStore
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Access, Principal
from shared.http import Routes

routes = Routes()
STORE = web.AppKey("billing_store", BillingStore)
# BIL-4: billing data is for company and billing administrators only.
BILLING_ADMINS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN), scopes=("billing:read",))


class BillingAccount(BaseModel):
    company_id: str
    company_name: str
    status: str
    opened_at: datetime


@routes.get("/v1/billing-account", response=BillingAccount, access=BILLING_ADMINS,
            tags=("billing account",), problems=(404,))
async def get_billing_account(request: web.Request, principal: Principal) -> BillingAccount:
    """The calling company's billing account."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return BillingAccount(**account)
