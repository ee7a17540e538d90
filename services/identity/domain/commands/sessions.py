"""Commands of logging in, registration and activation."""

from __future__ import annotations

from dataclasses import dataclass


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
