"""Activating a requested account with its activation code (ID-2)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field

from services.identity.domain.users import Username
from services.identity.handlers import activation as handlers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Accepted, Session
from shared.durations import in_words
from shared.http import client_address

TAGS = ("activation",)


class Activation(BaseModel):
    email: EmailStr
    code: str = Field(min_length=4, max_length=32, description="from the activation email")
    username: Username = Field(description="6–32 characters: letters, digits, . _ -; or "
                                           "name@<your company's login domain> (ID-14)")
    password: str = Field(min_length=1, max_length=200)


class CodeRequest(BaseModel):
    email: EmailStr


class Activated(Session):
    pass


@routes.post("/v1/activations", body=Activation, response=Activated, tags=TAGS,
             problems=(400, 409, 410, 429))
async def activate(request: web.Request, body: Activation) -> Activated:
    """ID-2: activate an account with its code, choosing username and password; answers
    with tokens. An expired code answers 410 `activation-code-expired`: ask for a new one.
    A few tries per hour per client IP (429 `activations-per-ip`)."""
    ctx = request.app[IDENTITY]
    return Activated(**await handlers.activate(
        ctx, str(body.email), body.code, body.username, body.password,
        client_address(request, ctx.settings.trusted_proxy_hops)))


@routes.post("/v1/activations/code-requests", body=CodeRequest, response=Accepted,
             status=202, tags=TAGS, problems=(429,))
async def request_new_code(request: web.Request, body: CodeRequest) -> Accepted:
    """ID-2: a new activation code for an account not yet activated (the answer is the same
    for every address; a few per hour per address and per client IP)."""
    ctx = request.app[IDENTITY]
    await handlers.request_new_code(ctx, str(body.email),
                                    client_address(request, ctx.settings.trusted_proxy_hops))
    validity = in_words(ctx.settings.activation_code_validity)
    return Accepted(detail="If an account waiting for activation uses this address, a new "
                           f"activation code is on its way. It is valid for {validity}.")
