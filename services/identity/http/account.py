"""The user's own account: profile, password, username, contact details, email addresses
(ID-4 first-login completion, ID-9, ID-10)."""

from __future__ import annotations

from typing import Annotated, Literal

import phonenumbers
from aiohttp import web
from pydantic import (AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints,
                      field_validator)
from pydantic_core import PydanticCustomError

from services.identity.domain.registration import Language, Phone
from services.identity.handlers import account as handlers
from services.identity.handlers import login_emails
from services.identity.handlers import password_reset_codes as reset_codes
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Accepted
from shared.auth import Access, Principal
from shared.errors import NotFound
from shared.http import client_address

Username = Annotated[str, StringConstraints(min_length=6, max_length=32,
                                            pattern=r"^[A-Za-z0-9._@-]+$")]



def mobile_only(e164: str) -> str:
    """A login phone receives SMS codes: a mobile number (or one its numbering plan does not
    tell apart from a mobile), never a fixed line, premium-rate or other service number that
    SMS pumping would pay."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise PydanticCustomError("mobile_number", "a login phone must be a mobile number")
    return e164


MobilePhone = Annotated[Phone, AfterValidator(mobile_only)]
ANY_USER = Access(allow_pending_password_change=True)
# Reading one's own account is part of a mobile-number login's scope; changing it is not.
READ_OWN = Access(allow_pending_password_change=True, allow_phone_login=True)


class Me(BaseModel):
    user_id: str
    company_id: str
    email: EmailStr
    username: str | None = None
    first_name: str
    surname: str
    phone: str | None = None
    # A new login phone waiting for the code sent to it; login codes go to ``phone`` until then.
    phone_awaiting_confirmation: str | None = None
    language: str
    roles: list[str]
    permissions: list[str]
    parent_user_id: str | None = None
    password_change_required: bool = False
    missing_contact_details: list[str] = []


def me_view(user: dict) -> Me:
    missing = [f for f in ("phone",) if not user.get(f)]
    return Me(user_id=user["_id"], company_id=user["company_id"], email=user["email"],
              username=user.get("username"), first_name=user["first_name"],
              surname=user["surname"], phone=user.get("phone"),
              phone_awaiting_confirmation=(user.get("pending_phone") or {}).get("phone"),
              language=user.get("language", "en"), roles=user["roles"],
              permissions=user.get("permissions", []),
              parent_user_id=user.get("parent_user_id"),
              password_change_required=bool(user.get("must_change_password")),
              missing_contact_details=missing)


@routes.get("/v1/me", response=Me, access=READ_OWN, tags=("account",))
async def me(request: web.Request, principal: Principal) -> Me:
    """The calling user's own account; ``missing_contact_details`` lists what the first
    login must still ask for (ID-4)."""
    user = await request.app[IDENTITY].store.users.get(
        {"_id": principal.subject, "company_id": principal.company_id})
    if user is None:
        raise NotFound("No such user.")
    return me_view(user)


class PasswordReset(BaseModel):
    email: EmailStr


class NewPassword(BaseModel):
    token: str = Field(min_length=20, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)
    new_password_repeat: str = Field(min_length=1, max_length=200)


class ResetCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=254,
                       description="the login id: email address, username or name@company")
    channel: Literal["email", "sms"] = Field(
        description="email: to the account's email address; sms: to the account's phone")


class ResetCodeAsked(BaseModel):
    detail: str
    reset_id: str = Field(description="send it with the code (the same for every login id)")


class ResetCodeCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reset_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    code: str = Field(pattern=r"^[0-9]{4,12}$", description="the code from the email or SMS")
    new_password: str = Field(min_length=1, max_length=200)
    new_password_repeat: str = Field(min_length=1, max_length=200)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)
    new_password_repeat: str = Field(min_length=1, max_length=200)


# Step-up: one field, the same everywhere, for what guards the account.
CurrentPassword = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UsernameChange(BaseModel):
    username: Username
    current_password: CurrentPassword


class ContactDetails(BaseModel):
    """What a user may change of the contact details; first name and surname are fixed. A new
    phone needs ``current_password`` and is confirmed with a code sent to it."""

    model_config = ConfigDict(extra="forbid")
    phone: MobilePhone | None = Field(
        default=None, description="the new login phone: a mobile number (E.164, or national "
                                  "numbers read as Hungarian)")
    current_password: CurrentPassword | None = None
    language: Language | None = None
    first_name: str | None = None
    surname: str | None = None

    @field_validator("first_name", "surname")
    @classmethod
    def _immutable(cls, value: str | None) -> None:
        raise PydanticCustomError("immutable", "first name and surname can not be changed")


class NewEmail(BaseModel):
    email: EmailStr


class EmailAddition(BaseModel):
    email: EmailStr
    current_password: CurrentPassword


class PhoneCode(BaseModel):
    code: str = Field(pattern=r"^[0-9]{4,10}$")


class EmailToken(BaseModel):
    token: str = Field(min_length=20, max_length=200)


@routes.post("/v1/password-resets", body=PasswordReset, response=Accepted, status=202,
             tags=("password",), problems=(429,))
async def request_password_reset(request: web.Request, body: PasswordReset) -> Accepted:
    """ID-8: email a reset link (the answer is the same for unknown addresses; a few per
    address and hour, silently; every kind of reset request counts per client IP: 429)."""
    ctx = request.app[IDENTITY]
    await handlers.request_password_reset(
        ctx, str(body.email), client_address(request, ctx.settings.trusted_proxy_hops))
    return Accepted(detail="If an account uses this address, an email with a link to set "
                           "a new password is on its way.")


@routes.post("/v1/password-resets/completion", body=NewPassword, status=204,
             tags=("password",), problems=(404, 410))
async def reset_password(request: web.Request, body: NewPassword) -> None:
    """ID-8: set the new password twice with the link's token; every session ends."""
    await handlers.reset_password(request.app[IDENTITY], body.token, body.new_password,
                                  body.new_password_repeat)


@routes.post("/v1/password-reset-codes", body=ResetCodeRequest, response=ResetCodeAsked,
             status=202, tags=("password",), problems=(429,))
async def request_reset_code(request: web.Request, body: ResetCodeRequest) -> ResetCodeAsked:
    """ID-8 (seed 002): a one-time code to the account's email address or by SMS to its phone
    (the answer is the same for unknown login ids; a few per login id and hour)."""
    ctx = request.app[IDENTITY]
    reset_id = await reset_codes.request_reset_code(
        ctx, body.login, body.channel, client_address(request, ctx.settings.trusted_proxy_hops))
    return ResetCodeAsked(
        reset_id=reset_id,
        detail="If an account uses this login id, a code to set a new password is on its way "
               + ("by SMS to its phone." if body.channel == "sms" else "to its email address."))


@routes.post("/v1/password-reset-codes/completion", body=ResetCodeCompletion, status=204,
             tags=("password",), problems=(410, 422, 429))
async def reset_with_code(request: web.Request, body: ResetCodeCompletion) -> None:
    """ID-8 (seed 002): the code and the new password twice; every session ends and a
    "password changed" email follows. A few tries per code; the code works once."""
    await reset_codes.reset_with_code(request.app[IDENTITY], body.reset_id, body.code,
                                      body.new_password, body.new_password_repeat)


@routes.post("/v1/me/password", body=PasswordChange, status=204, access=ANY_USER,
             tags=("account",), problems=(403,))
async def change_password(request: web.Request, body: PasswordChange,
                          principal: Principal) -> None:
    """ID-9 (and ID-7's first login): current password and the new one twice."""
    await handlers.change_password(request.app[IDENTITY], principal.subject,
                                   principal.company_id, body.current_password,
                                   body.new_password, body.new_password_repeat)


@routes.put("/v1/me/username", body=UsernameChange, status=204, access=Access(),
            tags=("account",), problems=(403, 409))
async def change_username(request: web.Request, body: UsernameChange,
                          principal: Principal) -> None:
    """ID-9: a new username (6–32 characters, or name@<the company's login domain>, ID-14),
    confirmed with the current password."""
    await handlers.change_username(request.app[IDENTITY], principal.subject,
                                   principal.company_id, body.username, body.current_password)


@routes.patch("/v1/me/contact-details", body=ContactDetails, response=Me, access=Access(),
              tags=("account",), problems=(403, 429))
async def change_contact_details(request: web.Request, body: ContactDetails,
                                 principal: Principal) -> Me:
    """ID-9 / ID-4: change phone or language; first name and surname can not change. A new
    phone (a mobile number) needs ``current_password``; it is listed as
    ``phone_awaiting_confirmation`` and receives login codes once confirmed (POST
    /v1/me/phone-verification). A few new numbers per user and hour (429), each code counted
    in the number's and the company's SMS allowances."""
    changes = body.model_dump(exclude_none=True, exclude={"current_password"})
    user = await handlers.change_contact_details(request.app[IDENTITY], principal.subject,
                                                 principal.company_id, changes,
                                                 body.current_password)
    return me_view(user)


@routes.post("/v1/me/phone-verification", body=PhoneCode, response=Me, access=Access(),
             tags=("account",), problems=(404, 410, 422, 429))
async def confirm_phone(request: web.Request, body: PhoneCode, principal: Principal) -> Me:
    """ID-9: the code sent to the new phone makes it the login phone; the old phone and the
    primary address get a notice."""
    return me_view(await handlers.confirm_phone(request.app[IDENTITY], principal.subject,
                                                principal.company_id, body.code))


@routes.post("/v1/me/emails", body=EmailAddition, response=Accepted, status=202,
             access=Access(), tags=("account",), problems=(403, 409, 429))
async def add_email(request: web.Request, body: EmailAddition,
                    principal: Principal) -> Accepted:
    """ID-10: add an address (confirmed with ``current_password``); a verification link goes
    to it (again, for an address added before and not verified). A few additions per user and
    hour and verification emails per address and hour (429); a few unverified addresses per
    account at once (409 too-many-unverified-emails: verify or delete one first)."""
    await login_emails.add_email(request.app[IDENTITY], principal.subject,
                                 principal.company_id, str(body.email), body.current_password)
    return Accepted(detail="A verification link is on its way to the new address.")


@routes.post("/v1/email-verifications", body=EmailToken, response=NewEmail,
             tags=("account",), problems=(404, 410))
async def verify_email(request: web.Request, body: EmailToken) -> NewEmail:
    """ID-10: the link from the verification email confirms the address."""
    return NewEmail(email=await login_emails.verify_email(request.app[IDENTITY], body.token))


@routes.post("/v1/me/emails/{address}/primary", status=204, access=Access(),
             tags=("account",), problems=(404, 422))
async def make_primary(request: web.Request, principal: Principal) -> None:
    """ID-10: a verified address becomes the primary one; the old one gets a notice."""
    await login_emails.make_primary(request.app[IDENTITY], principal.subject,
                                    principal.company_id, request.match_info["address"])


@routes.delete("/v1/me/emails/{address}", status=204, access=Access(), tags=("account",),
               problems=(404, 409))
async def delete_email(request: web.Request, principal: Principal) -> None:
    """ID-10: delete a secondary address."""
    await login_emails.delete_email(request.app[IDENTITY], principal.subject,
                                    principal.company_id, request.match_info["address"])
