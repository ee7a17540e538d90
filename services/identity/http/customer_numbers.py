"""The customer number as login id of its contract holder (seed 004, ID-14): "forgot password"
with the number, and the company administrator's choice of the account that logs in with it."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, StringConstraints

from services.identity.handlers import customer_number_access, customer_numbers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Accepted
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.http import client_address

ADMINS = Access.of(roles=(COMPANY_ADMIN,))
CustomerNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


class CustomerNumberAccess(BaseModel):
    customer_number: CustomerNumber


class LoginUser(BaseModel):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class HeldNumber(BaseModel):
    customer_number: str
    holder_name: str
    # The account that logs in with the number; None when no active one does.
    login_user_id: str | None = None
    # True when an administrator chose it; else it is the user who linked the number.
    designated: bool


class HeldNumbers(BaseModel):
    customer_numbers: list[HeldNumber]


@routes.post("/v1/password-resets/customer-number", body=CustomerNumberAccess,
             response=Accepted, status=202, tags=("password",), problems=(429,))
async def request_access(request: web.Request, body: CustomerNumberAccess) -> Accepted:
    """Seed 004: "forgot password" with the customer number. The holder's account gets a
    reset link at its own address; a holder without a login gets a link at the reference
    address the CRM holds for the number, and setting the password there
    (``POST /v1/password-resets/completion``) opens the account. The same answer for
    unknown numbers; limited per client IP (429), per number and per address (silent)."""
    ctx = request.app[IDENTITY]
    await customer_number_access.request_access(
        ctx, body.customer_number, client_address(request, ctx.settings.trusted_proxy_hops))
    return Accepted(detail="If this customer number can log in, an email with a link to set "
                           "the password is on its way to the address we hold for it.")


@routes.get("/v1/customer-numbers", response=HeldNumbers, access=ADMINS,
            tags=("customer numbers",))
async def held_numbers(request: web.Request, principal: Principal) -> HeldNumbers:
    """Seed 004: the numbers the company holds as contract holder and the account that logs
    in with each (company administrators)."""
    items = await customer_numbers.held_numbers(request.app[IDENTITY], principal.company_id)
    return HeldNumbers(customer_numbers=[HeldNumber(**i) for i in items])


@routes.put("/v1/customer-numbers/{number}/login-user", body=LoginUser, response=HeldNumber,
            access=ADMINS, tags=("customer numbers",), problems=(404, 422))
async def designate_login_user(request: web.Request, body: LoginUser,
                               principal: Principal) -> HeldNumber:
    """Seed 004: a company administrator chooses which active user of the company logs in
    with the customer number (by default the user who linked it)."""
    return HeldNumber(**await customer_numbers.designate_login_user(
        request.app[IDENTITY], company_id=principal.company_id,
        number=request.match_info["number"], user_id=body.user_id))
