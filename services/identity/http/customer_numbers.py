"""The customer number as login id of its contract holder (seed 004, ID-14): "forgot password"
with the number, and the company administrator's choice of the account that logs in with it."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints

from services.identity.domain import commands
from services.identity.domain.customer_numbers import NumberLogin
from services.identity.handlers import customer_number_access, customer_numbers
from services.identity.http import identity, routes
from services.identity.http.models import EXAMPLE_USER_ID, Accepted
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.http import client_address, company_of

ADMINS = Access.of(roles=(COMPANY_ADMIN,))
CustomerNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


class CustomerNumberAccess(BaseModel):
    """The customer number whose password was forgotten."""

    customer_number: CustomerNumber = Field(description="The customer number, as on the "
                                                        "invoice (letters, digits, -)",
                                            examples=["KD-4711-0815"])


class LoginUser(BaseModel):
    """The user who is to log in with the customer number."""

    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="An active user of your company", examples=[EXAMPLE_USER_ID])


class HeldNumber(BaseModel):
    """A customer number the company holds as contract holder, and who logs in with it."""

    customer_number: str = Field(description="The customer number", examples=["KD-4711-0815"])
    holder_name: str = Field(description="The contract holder's name as the CRM holds it",
                             examples=["Muster GmbH"])
    # The account that logs in with the number; None when no active one does.
    login_user_id: str | None = Field(None, description="The account that logs in with the "
                                                        "number; null when no active one "
                                                        "does",
                                      examples=[EXAMPLE_USER_ID])
    # True when an administrator chose it; else it is the user who linked the number.
    designated: bool = Field(description="True when an administrator chose the account; "
                                         "false when it is the user who linked the number",
                             examples=[True])


def held_number(login: NumberLogin) -> HeldNumber:
    return HeldNumber(customer_number=login.customer_number, holder_name=login.holder_name,
                      login_user_id=login.login_user_id, designated=login.designated)


class HeldNumbers(BaseModel):
    """The customer numbers the company holds as contract holder."""

    customer_numbers: list[HeldNumber] = Field(description="Each number and its login user")


@routes.post("/v1/password-resets/customer-number", body=CustomerNumberAccess,
             response=Accepted, status=202, tags=("password",), problems=(429,))
async def request_access(request: web.Request, body: CustomerNumberAccess) -> Accepted:
    """Forgotten password: a reset link by customer number

    Anyone may call it. The account that logs in with the number gets a reset link at its
    own address; a holder without a login gets a link at the reference address the CRM
    holds for the number, and setting the password there (POST
    /v1/password-resets/completion) opens the account. The same answer for unknown
    numbers. Every kind of reset request counts per client IP
    (`IDENTITY_PASSWORD_RESET_REQUESTS_PER_IP_PER_HOUR`, 30; 429 with `Retry-After`); a few
    per number and per address and hour (`IDENTITY_PASSWORD_RESET_EMAILS_PER_HOUR`, 3; more
    are dropped silently)."""
    ctx = identity(request)
    await customer_number_access.request_access(commands.RequestCustomerNumberAccess(
        body.customer_number, client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Accepted(detail="If this customer number can log in, an email with a link to set "
                           "the password is on its way to the address we hold for it.")


@routes.get("/v1/customer-numbers", response=HeldNumbers, access=ADMINS,
            tags=("customer numbers",))
async def held_numbers(request: web.Request, principal: Principal) -> HeldNumbers:
    """List your company's customer numbers and who logs in with each

    Company administrators only. The numbers the company holds as contract holder and the
    account that logs in with each (by default the user who linked it)."""
    items = await customer_numbers.held_numbers(
        commands.ListHeldNumbers(company_of(principal)), identity(request))
    return HeldNumbers(customer_numbers=[held_number(i) for i in items])


class NumberPath(BaseModel):
    """The customer number a path names."""

    number: CustomerNumber = Field(description="A customer number the company holds, from "
                                               "GET /v1/customer-numbers",
                                   examples=["KD-4711-0815"])


@routes.put("/v1/customer-numbers/{number}/login-user", body=LoginUser, response=HeldNumber,
            path_params=NumberPath, access=ADMINS, tags=("customer numbers",),
            problems=(404, 422))
async def designate_login_user(request: web.Request, body: LoginUser,
                               principal: Principal) -> HeldNumber:
    """Choose who logs in with a customer number

    Company administrators only. Names the active user of the company who logs in with the
    number (by default the user who linked it). 404 `customer-number-not-held` when the
    company does not hold the number as contract holder; 422 when the user is not an active
    user of the company."""
    return held_number(await customer_numbers.designate_login_user(
        commands.DesignateLoginUser(company_id=company_of(principal),
                                    number=request.match_info["number"], user_id=body.user_id),
        identity(request)))
