"""User administration rules (ID-2, ID-7, ID-12): roles, delegated permissions, who may grant
or change what, usernames and activation codes. No I/O.

    company_admin   everything in its company (the "master administrator")
    sub_admin       only what its delegated permissions allow:
                    users:invite  invite / create users and billing administrators
                    users:manage  change roles of, deactivate and reactivate users and
                                  billing administrators (never administrators)
    billing_admin, user   no user administration
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.identity.domain.aggregate import Aggregate
from services.identity.domain.errors import (
    ActivationCodeExpired,
    ActivationCodeInvalid,
    RoleNotAllowed,
)
from services.identity.events import USER_ACTIVATED, UserActivated
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, SUB_ADMIN, USER
from shared.durations import in_words

Role = Literal["company_admin", "sub_admin", "billing_admin", "user"]
Status = Literal["active", "pending_activation", "deactivated"]
# What a master administrator may delegate to a sub-administrator (ID-12).
Permission = Literal["users:read", "users:invite", "users:manage", "company:read",
                     "billing:manage", "contracts:manage"]
DELEGABLE = ("users:read", "users:invite", "users:manage", "company:read", "billing:manage",
             "contracts:manage")
ADMIN_ROLES = frozenset({COMPANY_ADMIN, SUB_ADMIN})
# What a sub-administrator with users:invite / users:manage may hand out or touch.
NON_ADMIN_ROLES = frozenset({USER, BILLING_ADMIN})

# ID-2 / ID-9: 6–32 characters of letters, digits and . _ -; or ``name@handle`` (ID-14,
# seed 002 "admin@cégnév"): a name of 1–32 such characters at the company's login domain
# (domain/handles.py), which may only be the caller's own company's.
Username = Annotated[str, StringConstraints(
    min_length=6, max_length=63,
    pattern=r"^(?:[A-Za-z0-9._-]{6,32}|[A-Za-z0-9._-]{1,32}@[A-Za-z0-9-]{3,30})$")]

# A user's id derived from what created it, so that repeating a half-finished step creates
# the same user again instead of a second one.
_USER_IDS = uuid.UUID("6f1d8a52-3c0e-4d7b-9a41-2f5e8c7b0d13")


def user_id_for(cause: str) -> str:
    return str(uuid.uuid5(_USER_IDS, cause))


def is_master(roles: Iterable[str]) -> bool:
    return COMPANY_ADMIN in roles


def check_may_assign(actor: Mapping[str, Any], role: str, permissions: Sequence[str] = ()) -> None:
    """Only a master administrator gives administrator roles or delegated permissions."""
    if is_master(actor["roles"]):
        return
    if permissions or role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may give administrator roles or "
                             "delegated permissions.", role=role)


def check_may_invite(actor: Mapping[str, Any], role: str) -> None:
    """users:invite lets a sub-administrator invite users and billing administrators only."""
    if is_master(actor["roles"]):
        return
    if "users:invite" not in actor.get("permissions", []):
        raise RoleNotAllowed("Your role does not allow inviting users.", role=role)
    if role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may invite administrators.",
                             role=role)


def check_may_manage(actor: Mapping[str, Any], target: Mapping[str, Any]) -> None:
    """users:manage lets a sub-administrator manage users and billing administrators only."""
    if actor["_id"] == target["_id"]:
        raise RoleNotAllowed("You can not change your own role or status; ask another "
                             "company administrator.", slug="own-account")
    if is_master(actor["roles"]):
        return
    if "users:manage" not in actor.get("permissions", []):
        raise RoleNotAllowed("Your role does not allow managing users.")
    if ADMIN_ROLES & set(target["roles"]):
        raise RoleNotAllowed("Only a company administrator may change administrators.")


def master_of(actor: Mapping[str, Any]) -> str | None:
    """The master administrator new users created by ``actor`` belong under."""
    master = actor["_id"] if is_master(actor["roles"]) else actor.get("parent_user_id")
    return None if master is None else str(master)


def parent_for(role: str, actor: Mapping[str, Any]) -> str | None:
    """A company administrator is a master and has no parent; anyone else is under one."""
    return None if role == COMPANY_ADMIN else master_of(actor)


def login_id(user: Mapping[str, Any]) -> str:
    return str(user.get("username") or user["email"])


def is_locked(user: Mapping[str, Any], now: float | None = None) -> bool:
    return float(user.get("locked_until") or 0.0) > (now or time.time())


def check_activation_code(user: Mapping[str, Any], matches: bool, now: float,
                          tries_left: int) -> None:
    """A correct code that has not expired activates; the rest is a specific problem."""
    if not matches:
        raise ActivationCodeInvalid("The activation code is not correct. Check it and try "
                                    "again.", tries_left=max(0, tries_left))
    if user["activation_expires"] <= now:
        valid = user.get("activation_valid_seconds")
        stated = f" (a code is valid for {in_words(timedelta(seconds=valid))})" if valid else ""
        raise ActivationCodeExpired(
            f"The activation code has expired{stated}. Ask for a new one: POST "
            "/v1/activations/code-requests with your email address.",
            new_code_request="/v1/activations/code-requests")


class EmailAddress(BaseModel):
    """One of a user's email addresses; the primary one is ``User.email`` too."""

    model_config = ConfigDict(extra="allow")

    address: str
    verified: bool
    primary: bool


class PendingPhone(BaseModel):
    """A new mobile number waiting for the code sent to it."""

    model_config = ConfigDict(extra="allow")

    phone: str
    expires: float
    tries: int
    code_hash: str


class User(Aggregate):
    """A user account of a customer company (stored in ``users``)."""

    company_id: str
    email: str
    emails: list[EmailAddress] = Field(default_factory=list)
    username: str | None = None
    first_name: str = ""
    surname: str = ""
    phone: str | None = None
    language: str = "en"
    roles: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(default_factory=list)
    # The master administrator this user belongs under (None for a master).
    parent_user_id: str | None = None
    status: Status = "pending_activation"
    password_hash: str | None = None
    password_history: list[str] = Field(default_factory=list)
    password_changed_at: datetime | None = None
    must_change_password: bool = False
    created_at: datetime | None = None
    created_by: str | None = None
    # Made by an administrator for an address that is another company's account: nothing
    # reaches the address and nothing made here logs in.
    email_elsewhere: bool = False
    invitation_id: str | None = None
    customer_number: str | None = None
    status_before_deactivation: Status | None = None
    # Activation by code (ID-2).
    activation_code_hash: str | None = None
    activation_expires: float = 0.0
    activation_valid_seconds: float | None = None
    activation_tries: int = 0
    activated_at: datetime | None = None
    pending_phone: PendingPhone | None = None
    # The brute-force guard (handlers/sessions.py): consecutive failures, lock, the hour's.
    login_failures: int = 0
    locked_until: float = 0.0
    failure_hour: int = 0
    hour_failures: int = 0

    @classmethod
    def new(cls, *, user_id: str, company_id: str, email: str, email_verified: bool,
            username: str | None, first_name: str, surname: str, phone: str | None,
            language: str, role: str, permissions: Sequence[str] = (),
            parent_user_id: str | None = None, status: Status,
            password_hash: str | None, now: datetime, **extra: Any) -> User:
        """A new account, as registration, invitation acceptance, user creation and a
        contract holder's first login make it; ``extra``: fields only some of them store
        (``created_by``, ``invitation_id``, ``customer_number``)."""
        return cls.model_validate({
            "_id": user_id, "company_id": company_id, "email": email,
            "emails": [{"address": email, "verified": email_verified, "primary": True}],
            "username": username, "first_name": first_name, "surname": surname,
            "phone": phone, "language": language, "roles": [role],
            "permissions": list(permissions), "parent_user_id": parent_user_id,
            "status": status, "password_hash": password_hash, "password_history": [],
            "must_change_password": False, "created_at": now, **extra})

    @property
    def login_id(self) -> str:
        return self.username or self.email

    @property
    def is_master(self) -> bool:
        return COMPANY_ADMIN in self.roles

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def is_locked(self, now: float | None = None) -> bool:
        return self.locked_until > (now or time.time())

    def password_changed_since(self, issued_at: datetime | float) -> bool:
        """Whether the password changed at or after ``issued_at`` (a datetime or epoch
        seconds): what was issued before then (a refresh token, a reset link or code) is
        refused. At or after: stored datetimes keep milliseconds, and nothing issued in the
        same millisecond as a password change is newer than it."""
        if self.password_changed_at is None:
            return False
        issued = issued_at.timestamp() if isinstance(issued_at, datetime) else issued_at
        return issued <= self.password_changed_at.timestamp()

    def activated(self) -> None:
        """Record that the account can log in now (``UserActivated``)."""
        self.record(USER_ACTIVATED, UserActivated(
            user_id=self.id, company_id=self.company_id, email=self.email,
            first_name=self.first_name, surname=self.surname, roles=list(self.roles),
            parent_user_id=self.parent_user_id, language=self.language))
