"""Activating a requested account with its activation code (ID-2)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field

from services.identity.domain import commands
from services.identity.domain.registration import EXAMPLE_PASSWORD
from services.identity.domain.users import Username
from services.identity.handlers import activation as handlers
from services.identity.http import identity, routes
from services.identity.http.models import Accepted, Session
from shared.durations import in_words
from shared.http import client_address

TAGS = ("activation",)


class Activation(BaseModel):
    """The activation code, and the username and password the person chooses."""

    email: EmailStr = Field(description="The address the activation code was sent to",
                            examples=["ben.weber@muster-gmbh.de"])
    code: str = Field(min_length=4, max_length=32, description="The code from the activation "
                                                               "email (case does not matter)",
                      examples=["K7MPQ2XR9T"])
    username: Username = Field(description="The login id to use from now on: 6–32 "
                                           "characters (letters, digits, . _ -), or "
                                           "name@<your company's login domain>",
                               examples=["ben.weber@muster-gmbh"])
    password: str = Field(min_length=1, max_length=200,
                          description="The new password; it must meet the company's "
                                      "password policy",
                          examples=[EXAMPLE_PASSWORD])


class CodeRequest(BaseModel):
    """The address of an account waiting for activation."""

    email: EmailStr = Field(description="The address the account was created with",
                            examples=["ben.weber@muster-gmbh.de"])


class Activated(Session):
    """The activated account, logged in."""


@routes.post("/v1/activations", body=Activation, response=Activated, tags=TAGS,
             problems=(400, 409, 410, 422, 429))
async def activate(request: web.Request, body: Activation) -> Activated:
    """Activate an account with its activation code

    Anyone with the code may call it (an administrator created the account with an
    activation code). The person chooses username and password and is logged in. A wrong
    code answers 400 `activation-code-invalid` with `tries_left`; after
    `IDENTITY_ACTIVATION_CODE_TRIES` (5) wrong codes the code is dead (429 `too-many-tries`:
    ask for a new one). An expired code answers 410 `activation-code-expired`. 409 when the
    username is taken or the account was activated already; 422 for a password against the
    policy or a login domain that is not the company's. The answers are the same for an
    address without an account waiting. A few tries per client IP and hour
    (`IDENTITY_ACTIVATIONS_PER_IP_PER_HOUR`, 30; 429 with `Retry-After`)."""
    ctx = identity(request)
    answer = await handlers.activate(commands.Activate(
        str(body.email), body.code, body.username, body.password,
        client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Activated(**answer.model_dump())


@routes.post("/v1/activations/code-requests", body=CodeRequest, response=Accepted,
             status=202, tags=TAGS, problems=(429,))
async def request_new_code(request: web.Request, body: CodeRequest) -> Accepted:
    """Ask for a new activation code

    Anyone may call it. A new code goes to the address if an account there waits for
    activation; the previous code stops working. The answer is the same for every address.
    A few requests per address and hour (`IDENTITY_ACTIVATION_CODE_REQUESTS_PER_HOUR`, 5;
    more are dropped silently) and per client IP
    (`IDENTITY_ACTIVATION_CODE_REQUESTS_PER_IP_PER_HOUR`, 30; 429 with `Retry-After`)."""
    ctx = identity(request)
    await handlers.request_new_code(commands.RequestActivationCode(
        str(body.email), client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    validity = in_words(ctx.settings.activation_code_validity)
    return Accepted(detail="If an account waiting for activation uses this address, a new "
                           f"activation code is on its way. It is valid for {validity}.")
