"""Commands of user administration and invitations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
