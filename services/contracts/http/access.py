"""What every contracts route module shares: who may call what, and the service's unit of
dependencies read from the app."""

from __future__ import annotations

from aiohttp import web

from services.contracts.handlers import Contracts
from shared.app_keys import unit
from shared.auth import COMPANY_ADMIN, PHONE_CONTRACTS, SUB_ADMIN, Access, Principal

# Linking, transferring and naming contacts is the master administrator's (seed 001).
ADMINS = Access.of(roles=(COMPANY_ADMIN,))
# A mobile-number login sees its own number's contracts when its company allows it (ID-6).
CONTRACT_VIEWERS = Access.of(roles=(COMPANY_ADMIN, SUB_ADMIN), scopes=("contracts:read",),
                             phone_permission=PHONE_CONTRACTS)
SPACE_VIEWERS = Access.of(scopes=("contracts:read",), phone_permission=PHONE_CONTRACTS)
SUPPORT = Access.of(scopes=("contracts:support",), users=False)


def contracts(request: web.Request) -> Contracts:
    return unit(request.app, Contracts)


def customer_number(request: web.Request) -> str:
    return request.match_info["customer_number"]


def company(principal: Principal) -> str:
    """The caller's company ("" for a client without one: it matches no company's data)."""
    return principal.company_id or ""
