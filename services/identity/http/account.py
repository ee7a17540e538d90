"""The user's own account: profile, password, username, contact details, email addresses
(ID-4 first-login completion, ID-9, ID-10)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from services.identity.domain import commands
from services.identity.domain.registration import EXAMPLE_PASSWORD, Language, Phone
from services.identity.domain.users import User
from services.identity.handlers import account as handlers
from services.identity.handlers import login_emails
from services.identity.http import identity, routes
from services.identity.http.models import (
    EXAMPLE_COMPANY_ID,
    EXAMPLE_LINK_TOKEN,
    EXAMPLE_USER_ID,
    Accepted,
    new_password_field,
    repeat_field,
)
from shared.auth import Access, Principal
from shared.errors import NotFound
from shared.http import company_of
from shared.phones import NotAMobileNumber, normalize_phone

Username = Annotated[str, StringConstraints(min_length=6, max_length=32,
                                            pattern=r"^[A-Za-z0-9._@-]+$")]


def mobile_only(e164: str) -> str:
    """A login phone receives SMS codes: a mobile number (or one its numbering plan does not
    tell apart from a mobile), never a fixed line, premium-rate or other service number that
    SMS pumping would pay."""
    try:
        return normalize_phone(e164, valid=True, mobile_only=True)
    except NotAMobileNumber:
        raise PydanticCustomError("mobile_number",
                                  "a login phone must be a mobile number") from None


MobilePhone = Annotated[Phone, AfterValidator(mobile_only)]
ANY_USER = Access(allow_pending_password_change=True)
# Reading one's own account is part of a mobile-number login's scope; changing it is not.
READ_OWN = Access(allow_pending_password_change=True, allow_phone_login=True)


class Me(BaseModel):
    """The calling user's own account."""

    user_id: str = Field(description="The user's id", examples=[EXAMPLE_USER_ID])
    company_id: str = Field(description="The user's company", examples=[EXAMPLE_COMPANY_ID])
    email: EmailStr = Field(description="The primary email address (a login id)",
                            examples=["anna.schmidt@muster-gmbh.de"])
    username: str | None = Field(None, description="The username (a login id), if chosen",
                                 examples=["anna.schmidt"])
    first_name: str = Field(description="First name (only an administrator can change it)",
                            examples=["Anna"])
    surname: str = Field(description="Surname (only an administrator can change it)",
                         examples=["Schmidt"])
    phone: str | None = Field(None, description="The login phone in E.164: SMS codes go "
                                                "here", examples=["+4915112345678"])
    # A new login phone waiting for the code sent to it; login codes go to ``phone`` until then.
    phone_awaiting_confirmation: str | None = Field(
        None, description="A new login phone waiting for the code sent to it (POST "
                          "/v1/me/phone-verification); login codes go to `phone` until then",
        examples=["+36301234567"])
    language: str = Field(description="Language of emails and SMS: de, en or hu",
                          examples=["de"])
    roles: list[str] = Field(description="company_admin, sub_admin, billing_admin or user",
                             examples=[["company_admin"]])
    permissions: list[str] = Field(description="A sub-administrator's delegated permissions",
                                   examples=[["users:read", "users:invite"]])
    parent_user_id: str | None = Field(None, description="The master administrator the user "
                                                         "is under; null for a company "
                                                         "administrator",
                                       examples=[None])
    password_change_required: bool = Field(False, description="True while a temporary "
                                                              "password must be changed",
                                           examples=[False])
    missing_contact_details: list[str] = Field(
        [], description="What the first login must still ask for (e.g. `phone`)",
        examples=[["phone"]])


def me_view(user: User) -> Me:
    return Me(user_id=user.id, company_id=user.company_id, email=user.email,
              username=user.username, first_name=user.first_name, surname=user.surname,
              phone=user.phone,
              phone_awaiting_confirmation=user.pending_phone.phone if user.pending_phone
              else None,
              language=user.language, roles=user.roles, permissions=user.permissions,
              parent_user_id=user.parent_user_id,
              password_change_required=user.must_change_password,
              missing_contact_details=[] if user.phone else ["phone"])


@routes.get("/v1/me", response=Me, access=READ_OWN, tags=("account",), problems=(404,))
async def me(request: web.Request, principal: Principal) -> Me:
    """Read your own account

    Any logged-in user, also one who must still change a temporary password and one logged
    in with a mobile number. `missing_contact_details` lists what the first login must
    still ask for."""
    user = await identity(request).users.get(principal.subject,
                                                 company_id=company_of(principal))
    if user is None:
        raise NotFound("No such user.")
    return me_view(user)


class PasswordChange(BaseModel):
    """The current password and the new one, twice."""

    current_password: str = Field(min_length=1, max_length=200,
                                  description="The current (or temporary) password",
                                  examples=[EXAMPLE_PASSWORD])
    new_password: str = new_password_field()
    new_password_repeat: str = repeat_field()


# Step-up: one field, the same everywhere, for what guards the account.
CurrentPassword = Annotated[str, StringConstraints(min_length=1, max_length=200)]
STEP_UP = "The current password, to confirm the change"


class UsernameChange(BaseModel):
    """The new username, confirmed with the current password."""

    username: Username = Field(description="6–32 characters: letters, digits, . _ - (or "
                                           "name@<the company's login domain>)",
                               examples=["anna.schmidt"])
    current_password: CurrentPassword = Field(description=STEP_UP,
                                              examples=[EXAMPLE_PASSWORD])


class ContactDetails(BaseModel):
    """What a user may change of the contact details; first name and surname are fixed. A new
    phone needs ``current_password`` and is confirmed with a code sent to it."""

    model_config = ConfigDict(extra="forbid")
    phone: MobilePhone | None = Field(
        default=None, description="The new login phone: a mobile number (E.164, or national "
                                  "numbers read as Hungarian); needs `current_password`",
        examples=["+36301234567"])
    current_password: CurrentPassword | None = Field(
        None, description=STEP_UP + " (required with `phone`)", examples=[EXAMPLE_PASSWORD])
    language: Language | None = Field(None, description="Language of emails and SMS",
                                      examples=["hu"])
    # No examples: sending either is refused (they are here to name the rule).
    first_name: str | None = Field(None, description="Can not be changed: sending it answers "
                                                     "422 `immutable`")
    surname: str | None = Field(None, description="Can not be changed: sending it answers "
                                                  "422 `immutable`")

    @field_validator("first_name", "surname")
    @classmethod
    def _immutable(cls, value: str | None) -> None:
        raise PydanticCustomError("immutable", "first name and surname can not be changed")


class NewEmail(BaseModel):
    """The address the link confirmed."""

    email: EmailStr = Field(description="The confirmed address; it can now log in",
                            examples=["a.schmidt@muster-gmbh.de"])


class EmailAddition(BaseModel):
    """Another email address for the account, confirmed with the current password."""

    email: EmailStr = Field(description="The address to add; a verification link goes to it",
                            examples=["a.schmidt@muster-gmbh.de"])
    current_password: CurrentPassword = Field(description=STEP_UP,
                                              examples=[EXAMPLE_PASSWORD])


class PhoneCode(BaseModel):
    """The code sent by SMS to the new phone."""

    code: str = Field(pattern=r"^[0-9]{4,10}$", description="The code from the SMS",
                      examples=["482073"])


class EmailToken(BaseModel):
    """The token from an address's verification link."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the verification link",
                       examples=[EXAMPLE_LINK_TOKEN])


@routes.post("/v1/me/password", body=PasswordChange, status=204, access=ANY_USER,
             tags=("account",), problems=(403, 422))
async def change_password(request: web.Request, body: PasswordChange,
                          principal: Principal) -> None:
    """Change your password

    Any logged-in user, also one with a temporary password (which must be changed first).
    The current password and the new one twice; the new one must meet the company's
    password policy and differ from the last ones (422 names each broken rule). A wrong
    current password answers 403 `current-password-wrong` and counts as a failed login."""
    await handlers.change_password(commands.ChangePassword(
        principal.subject, company_of(principal), body.current_password, body.new_password,
        body.new_password_repeat), identity(request))


@routes.put("/v1/me/username", body=UsernameChange, status=204, access=Access(),
            tags=("account",), problems=(403, 409, 422))
async def change_username(request: web.Request, body: UsernameChange,
                          principal: Principal) -> None:
    """Change your username

    Any logged-in user. A new username (6–32 characters, or name@<the company's login
    domain>), confirmed with the current password (403 `current-password-wrong`). 409
    `login-id-taken` when another account uses it; 422 for a login domain that is not the
    company's."""
    await handlers.change_username(commands.ChangeUsername(
        principal.subject, company_of(principal), body.username, body.current_password),
        identity(request))


@routes.patch("/v1/me/contact-details", body=ContactDetails, response=Me, access=Access(),
              tags=("account",), problems=(403, 422, 429))
async def change_contact_details(request: web.Request, body: ContactDetails,
                                 principal: Principal) -> Me:
    """Change your phone or language

    Any logged-in user. First name and surname can not change (422 `immutable`). A new
    phone (a mobile number) needs `current_password`; it is listed as
    `phone_awaiting_confirmation`, gets a code by SMS and receives login codes once
    confirmed (POST /v1/me/phone-verification). A few new numbers per user and hour
    (`IDENTITY_PHONE_CHANGES_PER_USER_PER_HOUR`, 3; 429 with `Retry-After`), each code
    counted in the number's and the company's SMS allowances."""
    user = await handlers.change_contact_details(commands.ChangeContactDetails(
        principal.subject, company_of(principal), phone=body.phone, language=body.language,
        current_password=body.current_password), identity(request))
    return me_view(user)


@routes.post("/v1/me/phone-verification", body=PhoneCode, response=Me, access=Access(),
             tags=("account",), problems=(404, 410, 422, 429))
async def confirm_phone(request: web.Request, body: PhoneCode, principal: Principal) -> Me:
    """Confirm your new phone with its code

    Any logged-in user with a new phone waiting (404 `no-phone-change` otherwise). The code
    sent to the new phone makes it the login phone; the old phone and the primary address
    get a notice. A wrong code answers 422 `code-incorrect` with `tries_left`; after
    `IDENTITY_PHONE_VERIFICATION_TRIES` (5), 429 `too-many-tries`; an expired code
    (`IDENTITY_PHONE_VERIFICATION_SECONDS`, 600) 410 `code-expired`: enter the number
    again."""
    return me_view(await handlers.confirm_phone(commands.ConfirmPhone(
        principal.subject, company_of(principal), body.code), identity(request)))


@routes.post("/v1/me/emails", body=EmailAddition, response=Accepted, status=202,
             access=Access(), tags=("account",), problems=(403, 409, 422, 429))
async def add_email(request: web.Request, body: EmailAddition,
                    principal: Principal) -> Accepted:
    """Add an email address to your account

    Any logged-in user, confirmed with `current_password` (403 `current-password-wrong`). A
    verification link goes to the address (again, for one added before and not verified);
    once verified it logs in too. 409 `email-taken` when another account uses it, 409
    `too-many-unverified-emails` when `IDENTITY_UNVERIFIED_EMAILS_PER_USER` (3) wait
    (verify or delete one first); 422 when it is on the account already. A few additions
    per user and hour (`IDENTITY_LOGIN_EMAILS_PER_USER_PER_HOUR`, 5) and links per address
    and hour (`IDENTITY_VERIFICATION_EMAILS_PER_ADDRESS_PER_HOUR`, 3): 429 with
    `Retry-After`."""
    await login_emails.add_email(commands.AddEmail(
        principal.subject, company_of(principal), str(body.email), body.current_password),
        identity(request))
    return Accepted(detail="A verification link is on its way to the new address.")


@routes.post("/v1/email-verifications", body=EmailToken, response=NewEmail,
             tags=("account",), problems=(404, 409, 410))
async def verify_email(request: web.Request, body: EmailToken) -> NewEmail:
    """Confirm an added email address

    Anyone with the link may call it (it is in the verification email). 404 `link-invalid`
    for an unknown or used link, 410 `link-expired` after
    `IDENTITY_EMAIL_VERIFICATION_HOURS` (24) hours, 409 `email-taken` when another account
    took the address meanwhile."""
    return NewEmail(email=await login_emails.verify_email(commands.VerifyEmail(body.token),
                                                          identity(request)))


class AddressPath(BaseModel):
    """One of the caller's email addresses, named in the path."""

    address: EmailStr = Field(description="The address, as listed on the account "
                                          "(URL-encoded)",
                              examples=["a.schmidt@muster-gmbh.de"])


@routes.post("/v1/me/emails/{address}/primary", status=204, path_params=AddressPath,
             access=Access(), tags=("account",), problems=(404, 422))
async def make_primary(request: web.Request, principal: Principal) -> None:
    """Make one of your addresses the primary one

    Any logged-in user. A verified address of the account becomes the primary one (emails
    go there); the old one gets a notice. 404 `email-not-found` for an address not on the
    account, 422 for one not verified yet."""
    await login_emails.make_primary(commands.MakeEmailPrimary(
        principal.subject, company_of(principal), request.match_info["address"]),
        identity(request))


@routes.delete("/v1/me/emails/{address}", status=204, path_params=AddressPath,
               access=Access(), tags=("account",), problems=(404, 409))
async def delete_email(request: web.Request, principal: Principal) -> None:
    """Delete one of your secondary addresses

    Any logged-in user. The address no longer logs in. 404 `email-not-found` for an
    address not on the account; 409 `primary-email` for the primary one (make another
    primary first)."""
    await login_emails.delete_email(commands.DeleteEmail(
        principal.subject, company_of(principal), request.match_info["address"]),
        identity(request))
