"""Commands of the forgotten password and of the user's own account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
