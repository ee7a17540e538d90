"""Registration, email first (ID-1)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field

from services.identity.domain.registration import CompleteRegistration, StartRegistration
from services.identity.handlers import registration as handlers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Accepted, Session
from shared.http import client_address


class VerifyLink(BaseModel):
    token: str = Field(min_length=20, max_length=200)


class LinkDetails(BaseModel):
    email: EmailStr
    expires_at: datetime


class RegistrationCompleted(Session):
    company_id: str
    user_id: str
    username: str | None = Field(None, description="ID-14: the administrator's login id, "
                                                   "admin@<the company's login domain>")


@routes.post("/v1/registrations", body=StartRegistration, response=Accepted, status=202,
             tags=("registration",), problems=(429,))
async def start_registration(request: web.Request, body: StartRegistration) -> Accepted:
    """ID-1: send a verification link to an email address (a few per hour per address and
    per client IP; the same answer whether or not the address has an account)."""
    ctx = request.app[IDENTITY]
    await handlers.start_registration(ctx, body,
                                      client_address(request, ctx.settings.trusted_proxy_hops))
    return Accepted(detail="If this address can be registered, a verification email is on "
                           "its way. The link in it is valid for a limited time.")


@routes.post("/v1/registrations/verification", body=VerifyLink, response=LinkDetails,
             tags=("registration",), problems=(404, 409, 410))
async def verify_registration_link(request: web.Request, body: VerifyLink) -> LinkDetails:
    """ID-1: check a verification link before showing the registration form."""
    doc = await handlers.verify_registration_link(request.app[IDENTITY], body.token)
    return LinkDetails(email=doc["email"], expires_at=doc["expires_at"])


@routes.post("/v1/registrations/completion", body=CompleteRegistration,
             response=RegistrationCompleted, status=201, tags=("registration",),
             problems=(404, 409, 410))
async def complete_registration(request: web.Request, body: CompleteRegistration
                                ) -> RegistrationCompleted:
    """ID-1: create the company with this account as its company administrator."""
    return RegistrationCompleted(
        **await handlers.complete_registration(request.app[IDENTITY], body))
