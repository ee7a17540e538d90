"""Registration, email first (ID-1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field, StringConstraints

from services.identity.domain import commands
from services.identity.domain.registration import EXAMPLE_PASSWORD, Language, Name, Phone
from services.identity.handlers import registration as handlers
from services.identity.http import identity, routes
from services.identity.http.models import (
    EXAMPLE_COMPANY_ID,
    EXAMPLE_LINK_TOKEN,
    EXAMPLE_USER_ID,
    Accepted,
    Session,
)
from shared.http import client_address


class StartRegistration(BaseModel):
    """The address a new company administrator registers with."""

    email: EmailStr = Field(description="Where the verification link goes; it becomes the "
                                        "administrator's login id",
                            examples=["anna.schmidt@muster-gmbh.de"])
    language: Language = Field("en", description="Language of the emails and of the account",
                               examples=["de"])


class CompleteRegistration(BaseModel):
    """The registration form, sent with the token from the verification link."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the verification link",
                       examples=[EXAMPLE_LINK_TOKEN])
    first_name: Name = Field(description="The administrator's first name",
                             examples=["Anna"])
    surname: Name = Field(description="The administrator's surname", examples=["Schmidt"])
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                                   max_length=200)] = Field(
        description="The company's name; its login domain is proposed from it",
        examples=["Muster GmbH"])
    phone: Phone = Field(description="The administrator's mobile number for SMS codes: "
                                     "E.164, or a national number read as Hungarian",
                         examples=["+4915112345678"])
    password: str = Field(min_length=1, max_length=200,
                          description="The new password; it must meet the platform's "
                                      "password policy (each broken rule is named in the 422)",
                          examples=[EXAMPLE_PASSWORD])


class VerifyLink(BaseModel):
    """The token from a verification link."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the verification link",
                       examples=[EXAMPLE_LINK_TOKEN])


class LinkDetails(BaseModel):
    """What the verification link is for, to show on the registration form."""

    email: EmailStr = Field(description="The address being registered",
                            examples=["anna.schmidt@muster-gmbh.de"])
    expires_at: datetime = Field(description="Until when the link can be used",
                                 examples=["2025-03-14T09:30:00Z"])


class RegistrationCompleted(Session):
    """The new company and its administrator, logged in (or asked for the SMS code)."""

    company_id: str = Field(description="The new company", examples=[EXAMPLE_COMPANY_ID])
    user_id: str = Field(description="The company administrator's user id",
                         examples=[EXAMPLE_USER_ID])
    username: str | None = Field(None, description="The administrator's login id besides the "
                                                   "email address: admin@<the company's "
                                                   "login domain>",
                                 examples=["admin@muster-gmbh"])


@routes.post("/v1/registrations", body=StartRegistration, response=Accepted, status=202,
             tags=("registration",), problems=(429,))
async def start_registration(request: web.Request, body: StartRegistration) -> Accepted:
    """Start a registration: a verification link goes to the address

    Anyone may call it. The answer is the same whether or not the address has an account.
    A few requests per address and hour (`IDENTITY_REGISTRATIONS_PER_EMAIL_PER_HOUR`, 3) and
    per client IP (`IDENTITY_REGISTRATIONS_PER_IP_PER_HOUR`, 30); more answer 429 with
    `Retry-After`. The link is valid `IDENTITY_REGISTRATION_LINK_HOURS` (72) hours."""
    ctx = identity(request)
    await handlers.start_registration(commands.StartRegistration(
        str(body.email), body.language,
        client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Accepted(detail="If this address can be registered, a verification email is on "
                           "its way. The link in it is valid for a limited time.")


@routes.post("/v1/registrations/verification", body=VerifyLink, response=LinkDetails,
             tags=("registration",), problems=(404, 409, 410))
async def verify_registration_link(request: web.Request, body: VerifyLink) -> LinkDetails:
    """Check a verification link

    Anyone with the link may call it, before showing the registration form: answers the
    address and until when the link works. 404 `link-invalid` for an unknown token, 410
    `link-expired` for an expired one, 409 `registration-completed` when the registration
    was completed already (log in instead)."""
    registration = await handlers.verify_registration_link(
        commands.CheckRegistrationLink(body.token), identity(request))
    return LinkDetails(email=registration.email, expires_at=registration.expires_at)


@routes.post("/v1/registrations/completion", body=CompleteRegistration,
             response=RegistrationCompleted, status=201, tags=("registration",),
             problems=(404, 409, 410, 422))
async def complete_registration(request: web.Request, body: CompleteRegistration
                                ) -> RegistrationCompleted:
    """Complete a registration: the company and its administrator

    Anyone with the link may call it. Creates the company with this person as its company
    administrator and logs them in (tokens, or the SMS step as a login does). The password
    must meet the platform's password policy (422 `password-policy` names each broken
    rule). 404 `link-invalid`, 410 `link-expired`, 409 `registration-completed` or
    `email-taken`. Sending the same form again after a failure continues where it stopped."""
    done = await handlers.complete_registration(commands.CompleteRegistration(
        token=body.token, first_name=body.first_name, surname=body.surname,
        company_name=body.company_name, phone=body.phone, password=body.password),
        identity(request))
    return RegistrationCompleted(company_id=done.company_id, user_id=done.user_id,
                                 username=done.username, **done.login.model_dump())
