"""What identity is asked to do: the commands its use cases take, one per use case.

Every use case has the signature ``async def use_case(cmd: Command, identity: Identity) ->
Result``; the HTTP routes and the consumers build the command from what they parsed. Secrets
(passwords, codes, tokens) travel in commands only as far as the use case that checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


# -- logging in (ID-4, ID-5, ID-6) -----------------------------------------------------------
@dataclass(frozen=True)
class LogIn:
    """A login id (email, username, ``name@company``, customer number) and its password."""

    login: str
    password: str


@dataclass(frozen=True)
class EnterLoginCode:
    """The SMS code of a login attempt."""

    attempt_id: str
    code: str


@dataclass(frozen=True)
class ResendLoginCode:
    attempt_id: str
    client_ip: str


@dataclass(frozen=True)
class LogInWithPhone:
    """A mobile number (already in E.164) that gets a login code."""

    phone: str
    client_ip: str


@dataclass(frozen=True)
class ChoosePhoneAccount:
    """The account picked after a mobile number's code."""

    attempt_id: str
    account_id: str


@dataclass(frozen=True)
class RefreshSession:
    refresh_token: str


@dataclass(frozen=True)
class LogOut:
    refresh_token: str


@dataclass(frozen=True)
class IssueClientToken:
    """An internal client's credentials and the scopes it asks for (None: all of its own)."""

    client_id: str
    client_secret: str
    scope: str | None = None


# -- registration (ID-1) ---------------------------------------------------------------------
@dataclass(frozen=True)
class StartRegistration:
    email: str
    language: str
    client_ip: str


@dataclass(frozen=True)
class CheckRegistrationLink:
    token: str


@dataclass(frozen=True)
class CompleteRegistration:
    """The registration form with the link's token; ``phone`` in E.164."""

    token: str
    first_name: str
    surname: str
    company_name: str
    phone: str
    password: str


# -- activation (ID-2) -----------------------------------------------------------------------
@dataclass(frozen=True)
class Activate:
    email: str
    code: str
    username: str
    password: str
    client_ip: str


@dataclass(frozen=True)
class RequestActivationCode:
    email: str
    client_ip: str


# -- forgotten password (ID-8) ---------------------------------------------------------------
@dataclass(frozen=True)
class RequestPasswordReset:
    email: str
    client_ip: str


@dataclass(frozen=True)
class SendPasswordReset:
    """The queued request ``request_id`` resolved, applying the event ``event_id`` once."""

    event_id: str
    request_id: str
    email: str


@dataclass(frozen=True)
class ResetPassword:
    """A reset link's token and the new password, twice."""

    token: str
    new_password: str
    new_password_repeat: str


@dataclass(frozen=True)
class RequestResetCode:
    login: str
    channel: Literal["email", "sms"]
    client_ip: str


@dataclass(frozen=True)
class SendResetCode:
    """The queued code request ``reset_id`` resolved, applying the event ``event_id`` once."""

    event_id: str
    reset_id: str
    login: str
    channel: str


@dataclass(frozen=True)
class ResetWithCode:
    reset_id: str
    code: str
    new_password: str
    new_password_repeat: str


# -- the user's own account (ID-9, ID-10) ----------------------------------------------------
@dataclass(frozen=True)
class ChangePassword:
    user_id: str
    company_id: str
    current_password: str
    new_password: str
    new_password_repeat: str


@dataclass(frozen=True)
class ChangeUsername:
    user_id: str
    company_id: str
    username: str
    current_password: str


@dataclass(frozen=True)
class ChangeContactDetails:
    """Phone (E.164, a mobile number) and language; a new phone needs the current password."""

    user_id: str
    company_id: str
    phone: str | None = None
    language: str | None = None
    current_password: str | None = None


@dataclass(frozen=True)
class ConfirmPhone:
    user_id: str
    company_id: str
    code: str


@dataclass(frozen=True)
class AddEmail:
    user_id: str
    company_id: str
    address: str
    current_password: str


@dataclass(frozen=True)
class VerifyEmail:
    token: str


@dataclass(frozen=True)
class MakeEmailPrimary:
    user_id: str
    company_id: str
    address: str


@dataclass(frozen=True)
class DeleteEmail:
    user_id: str
    company_id: str
    address: str


# -- user administration (ID-2, ID-7, ID-12) -------------------------------------------------
@dataclass(frozen=True)
class CreateUser:
    """An administrator (``actor_id`` of ``company_id``) asks for an account for someone;
    ``request_id`` (from the Idempotency-Key) makes the user id."""

    company_id: str
    actor_id: str
    request_id: str
    email: str
    first_name: str
    surname: str
    role: str
    permissions: list[str] = field(default_factory=list)
    language: str | None = None
    phone: str | None = None
    username: str | None = None
    onboarding: Literal["activation_code", "temporary_password"] = "activation_code"


@dataclass(frozen=True)
class ReadUser:
    """One user of the caller's company."""

    company_id: str
    user_id: str


@dataclass(frozen=True)
class ReadParent:
    """The master administrator of a user of the caller's company."""

    company_id: str
    user_id: str


@dataclass(frozen=True)
class ManageUser:
    """An administrator (``actor_id``) acting on a user of their company: deactivate,
    reactivate, unlock, send a new activation code."""

    company_id: str
    actor_id: str
    user_id: str


@dataclass(frozen=True)
class ChangeRole:
    company_id: str
    actor_id: str
    user_id: str
    role: str
    permissions: list[str] = field(default_factory=list)


# -- invitations (ID-11) ---------------------------------------------------------------------
@dataclass(frozen=True)
class Invite:
    """An administrator (``actor_id`` of ``company_id``) invites one address with a role."""

    company_id: str
    actor_id: str
    email: str
    role: str
    permissions: list[str] = field(default_factory=list)
    language: str | None = None
    first_name: str | None = None
    surname: str | None = None


@dataclass(frozen=True)
class ReadInvitation:
    company_id: str
    invitation_id: str


@dataclass(frozen=True)
class ResendInvitation:
    company_id: str
    actor_id: str
    invitation_id: str


@dataclass(frozen=True)
class RevokeInvitation:
    company_id: str
    actor_id: str
    invitation_id: str


@dataclass(frozen=True)
class CheckInvitationLink:
    token: str


@dataclass(frozen=True)
class AcceptInvitation:
    """The invitation link's token and the invitee's form; ``phone`` in E.164."""

    token: str
    first_name: str
    surname: str
    phone: str
    password: str


@dataclass(frozen=True)
class ImportInvitations:
    """An uploaded CSV or XLSX file (``kind``) of people to invite."""

    company_id: str
    actor_id: str
    content: bytes
    kind: str
    file_name: str | None = None


@dataclass(frozen=True)
class ReadImportJob:
    company_id: str
    job_id: str


# -- the company (ID-13, ID-14) --------------------------------------------------------------
@dataclass(frozen=True)
class ReadCompany:
    company_id: str


@dataclass(frozen=True)
class ChangeLoginDomain:
    company_id: str
    actor_id: str
    login_domain: str
    current_password: str


@dataclass(frozen=True)
class MoveUsernames:
    """The company's login domain changed from ``previous``: move its usernames."""

    company_id: str
    previous: str | None


@dataclass(frozen=True)
class ReplaceCompanyProfile:
    company_id: str
    profile: dict[str, Any]


@dataclass(frozen=True)
class ChangeCompanySettings:
    """Only the settings named in ``changes`` change."""

    company_id: str
    changes: dict[str, Any]


# -- customer numbers (seed 004) -------------------------------------------------------------
@dataclass(frozen=True)
class ListHeldNumbers:
    company_id: str


@dataclass(frozen=True)
class DesignateLoginUser:
    company_id: str
    number: str
    user_id: str


@dataclass(frozen=True)
class RequestCustomerNumberAccess:
    number: str
    client_ip: str


@dataclass(frozen=True)
class SendCustomerNumberAccess:
    """The queued request ``request_id`` resolved, applying the event ``event_id`` once."""

    event_id: str
    request_id: str
    number: str


@dataclass(frozen=True)
class RecordCrmReference:
    """The CRM issued a number or changed it (only the fields in ``data`` change)."""

    event_id: str
    as_of: float
    number: str
    data: dict[str, Any]


@dataclass(frozen=True)
class LinkHolder:
    event_id: str
    as_of: float
    number: str
    company_id: str
    link_type: str
    linked_by: str | None = None


@dataclass(frozen=True)
class UnlinkHolder:
    event_id: str
    as_of: float
    number: str
    company_id: str
