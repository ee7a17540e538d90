"""Forgotten passwords: a reset link by email address, a one-time code by email or SMS, and
setting the new password with either (the customer number's link: customer_numbers.py)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import commands
from services.identity.handlers import account as handlers
from services.identity.handlers import password_reset_codes as reset_codes
from services.identity.http import identity, routes
from services.identity.http.models import (
    EXAMPLE_LINK_TOKEN,
    Accepted,
    new_password_field,
    repeat_field,
)
from shared.http import client_address


class PasswordReset(BaseModel):
    """The address of the account whose password was forgotten."""

    email: EmailStr = Field(description="The account's email address",
                            examples=["anna.schmidt@muster-gmbh.de"])


class NewPassword(BaseModel):
    """The token from the reset link and the new password, twice."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the reset link",
                       examples=[EXAMPLE_LINK_TOKEN])
    new_password: str = new_password_field()
    new_password_repeat: str = repeat_field()


class ResetCodeRequest(BaseModel):
    """Whose password to reset, and where the one-time code goes."""

    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=254,
                       description="The login id: email address, username, name@company or "
                                   "customer number",
                       examples=["anna.schmidt@muster-gmbh.de"])
    channel: Literal["email", "sms"] = Field(
        description="email: to the account's email address; sms: to the account's phone",
        examples=["sms"])


class ResetCodeAsked(BaseModel):
    """The reset to complete with the code."""

    detail: str = Field(description="What happens next, in words for the person",
                        examples=[("If an account uses this login id, a code to set a new "
                                   "password is on its way by SMS to its phone.")])
    reset_id: str = Field(description="Send it with the code (there is one for every login "
                                      "id, known or not)",
                          examples=["9f86d081884c7d659a2feaa0c55ad015"])


class ResetCodeCompletion(BaseModel):
    """The code that was sent and the new password, twice."""

    model_config = ConfigDict(extra="forbid")
    reset_id: str = Field(pattern=r"^[0-9a-f]{32}$",
                          description="The `reset_id` the code request answered",
                          examples=["9f86d081884c7d659a2feaa0c55ad015"])
    code: str = Field(pattern=r"^[0-9]{4,12}$", description="The code from the email or SMS",
                      examples=["48207316"])
    new_password: str = new_password_field()
    new_password_repeat: str = repeat_field()


@routes.post("/v1/password-resets", body=PasswordReset, response=Accepted, status=202,
             tags=("password",), problems=(429,))
async def request_password_reset(request: web.Request, body: PasswordReset) -> Accepted:
    """Forgotten password: email a reset link

    Anyone may call it. The answer is the same for unknown addresses. A few links per
    address and hour (`IDENTITY_PASSWORD_RESET_EMAILS_PER_HOUR`, 3; more are dropped
    silently); every kind of reset request counts per client IP
    (`IDENTITY_PASSWORD_RESET_REQUESTS_PER_IP_PER_HOUR`, 30; 429 with `Retry-After`). The
    link is valid `IDENTITY_PASSWORD_RESET_MINUTES` (60) minutes; a newer link or code ends
    it."""
    ctx = identity(request)
    await handlers.request_password_reset(commands.RequestPasswordReset(
        str(body.email), client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Accepted(detail="If an account uses this address, an email with a link to set "
                           "a new password is on its way.")


@routes.post("/v1/password-resets/completion", body=NewPassword, status=204,
             tags=("password",), problems=(404, 409, 410, 422))
async def reset_password(request: web.Request, body: NewPassword) -> None:
    """Set a new password with a reset link

    Anyone with the link may call it. The new password twice; it must meet the company's
    password policy (422 names each broken rule). Every session of the account ends. 404
    `link-invalid` for an unknown or used link, 410 `link-expired`. A customer number's
    link to a holder without an account opens the account (409 when its address or login id
    is taken meanwhile)."""
    await handlers.reset_password(commands.ResetPassword(
        body.token, body.new_password, body.new_password_repeat), identity(request))


@routes.post("/v1/password-reset-codes", body=ResetCodeRequest, response=ResetCodeAsked,
             status=202, tags=("password",), problems=(429,))
async def request_reset_code(request: web.Request, body: ResetCodeRequest) -> ResetCodeAsked:
    """Forgotten password: send a one-time code by email or SMS

    Anyone may call it. The code goes to the account's email address or by SMS to its
    phone; answers a `reset_id` to send with the code, the same way for unknown login ids. A
    few codes per login id and per account and hour (more are dropped silently); every kind
    of reset request counts per client IP (`IDENTITY_PASSWORD_RESET_REQUESTS_PER_IP_PER_HOUR`,
    30; 429 with `Retry-After`), and SMS count in the phone's and the company's SMS
    allowances."""
    ctx = identity(request)
    reset_id = await reset_codes.request_reset_code(commands.RequestResetCode(
        body.login, body.channel, client_address(request, ctx.settings.trusted_proxy_hops)),
        ctx)
    return ResetCodeAsked(
        reset_id=reset_id,
        detail="If an account uses this login id, a code to set a new password is on its way "
               + ("by SMS to its phone." if body.channel == "sms" else "to its email address."))


@routes.post("/v1/password-reset-codes/completion", body=ResetCodeCompletion, status=204,
             tags=("password",), problems=(410, 422, 429))
async def reset_with_code(request: web.Request, body: ResetCodeCompletion) -> None:
    """Set a new password with a one-time code

    Anyone with the code may call it. The `reset_id`, the code and the new password twice;
    every session ends and a "password changed" email follows. A wrong code answers 422
    `code-incorrect`; after `IDENTITY_PASSWORD_RESET_CODE_TRIES` (5) wrong codes, 429
    `too-many-tries` (ask for a new code); a used, replaced or expired code answers 410
    `code-expired`. A password against the policy costs no try."""
    await reset_codes.reset_with_code(commands.ResetWithCode(
        body.reset_id, body.code, body.new_password, body.new_password_repeat),
        identity(request))
