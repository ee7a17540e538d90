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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.identity import events
from services.identity.domain.aggregate import Aggregate
from services.identity.domain.errors import (
    ActivationCodeExpired,
    ActivationCodeInvalid,
    CodeExpired,
    RoleNotAllowed,
)
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


def check_may_assign(actor: User, role: str, permissions: Sequence[str] = ()) -> None:
    """Only a master administrator gives administrator roles or delegated permissions."""
    if actor.is_master:
        return
    if permissions or role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may give administrator roles or "
                             "delegated permissions.", role=role)


def check_may_invite(actor: User, role: str) -> None:
    """users:invite lets a sub-administrator invite users and billing administrators only."""
    if actor.is_master:
        return
    if "users:invite" not in actor.permissions:
        raise RoleNotAllowed("Your role does not allow inviting users.", role=role)
    if role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may invite administrators.",
                             role=role)


def check_may_manage(actor: User, target: User) -> None:
    """users:manage lets a sub-administrator manage users and billing administrators only."""
    if actor.id == target.id:
        raise RoleNotAllowed("You can not change your own role or status; ask another "
                             "company administrator.", slug="own-account")
    if actor.is_master:
        return
    if "users:manage" not in actor.permissions:
        raise RoleNotAllowed("Your role does not allow managing users.")
    if ADMIN_ROLES & set(target.roles):
        raise RoleNotAllowed("Only a company administrator may change administrators.")


def master_of(actor: User) -> str | None:
    """The master administrator new users created by ``actor`` belong under."""
    return actor.id if actor.is_master else actor.parent_user_id


def parent_for(role: str, actor: User) -> str | None:
    """A company administrator is a master and has no parent; anyone else is under one."""
    return None if role == COMPANY_ADMIN else master_of(actor)


def check_activation_code(user: User | None, matches: bool, now: float,
                          tries_left: int) -> None:
    """A correct code that has not expired activates; the rest is a specific problem (a
    wrong code answers alike whether or not an account waits: ``user`` None)."""
    if not matches or user is None:
        raise ActivationCodeInvalid("The activation code is not correct. Check it and try "
                                    "again.", tries_left=max(0, tries_left))
    if user.activation_expires <= now:
        valid = user.activation_valid_seconds
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
        self.record(events.USER_ACTIVATED, events.UserActivated(
            user_id=self.id, company_id=self.company_id, email=self.email,
            first_name=self.first_name, surname=self.surname, roles=list(self.roles),
            parent_user_id=self.parent_user_id, language=self.language))

    def set_password(self, password_hash: str, now: datetime, *, history_kept: int) -> None:
        """A new password (its policy checked): the previous one joins the history, and
        what was issued before ``now`` stops working (``password_changed_since``)."""
        previous = [self.password_hash] if self.password_hash is not None else []
        self.password_history = [*self.password_history, *previous][-history_kept:]
        self.password_hash = password_hash
        self.must_change_password = False
        self.password_changed_at = now
        self.record(events.PASSWORD_CHANGED, events.PasswordChanged(
            user_id=self.id, company_id=self.company_id, email=self.email,
            language=self.language, changed_at=now))

    def change_username(self, username: str) -> None:
        self.username = username
        self.record(events.USERNAME_CHANGED, events.UsernameChanged(
            user_id=self.id, company_id=self.company_id, email=self.email,
            username=username, language=self.language))

    def propose_phone(self, phone: str, *, code: str, code_hash: str, expires: float) -> None:
        """A new login phone waits for the code sent to it (ID-9)."""
        self.pending_phone = PendingPhone(phone=phone, expires=expires, tries=0,
                                          code_hash=code_hash)
        self.record(events.PHONE_VERIFICATION_REQUESTED, events.PhoneVerificationRequested(
            user_id=self.id, company_id=self.company_id, phone=phone, language=self.language,
            code=code, expires_at=datetime.fromtimestamp(expires, UTC)))

    def confirm_phone(self, code_hash: str, now: datetime) -> str | None:
        """The proposed phone whose code (``code_hash``) was entered becomes the login phone;
        the previous one (None: there was none)."""
        pending = self.pending_phone
        if pending is None or pending.code_hash != code_hash:
            raise CodeExpired("A newer code was sent; enter that one.")
        old = self.phone
        self.phone = pending.phone
        self.forget("pending_phone")
        self.record(events.PHONE_CHANGED, events.PhoneChanged(
            user_id=self.id, company_id=self.company_id, email=self.email, old_phone=old,
            new_phone=pending.phone, language=self.language, changed_at=now))
        return old

    # -- email addresses (ID-10) ---------------------------------------------------------------
    def address(self, address: str) -> EmailAddress | None:
        return next((e for e in self.emails if e.address == address), None)

    def unverified_addresses(self) -> list[str]:
        return [e.address for e in self.emails if not e.verified]

    def add_address(self, address: str) -> None:
        """A secondary address, verified once its link is followed."""
        if self.address(address) is None:
            self.emails = [*self.emails,
                           EmailAddress(address=address, verified=False, primary=False)]

    def address_verified(self, address: str) -> None:
        self.emails = [e.model_copy(update={"verified": True}) if e.address == address else e
                       for e in self.emails]

    def make_primary(self, address: str) -> None:
        """A verified address becomes the primary one; the old one hears of it."""
        old = self.email
        self.email = address
        self.emails = [e.model_copy(update={"primary": e.address == address})
                       for e in self.emails]
        self.record(events.EMAIL_CHANGED, events.EmailChanged(
            user_id=self.id, company_id=self.company_id, old_email=old, new_email=address,
            language=self.language))

    def remove_address(self, address: str) -> None:
        self.emails = [e for e in self.emails if e.address != address]

    # -- administration (ID-2, ID-12) ----------------------------------------------------------
    def give_activation_code(self, *, code: str, code_hash: str, expires: float,
                             valid_seconds: float) -> None:
        """A new activation code (the previous one stops working); records
        ``ActivationCodeIssued``. The validity is kept with the code: its email and its expiry
        problem state it."""
        self.activation_code_hash = code_hash
        self.activation_expires = expires
        self.activation_valid_seconds = valid_seconds
        self.activation_tries = 0
        self.record(events.ACTIVATION_CODE_ISSUED, events.ActivationCodeIssued(
            user_id=self.id, company_id=self.company_id, email=self.email,
            language=self.language, code=code,
            expires_at=datetime.fromtimestamp(expires, UTC),
            valid_for=timedelta(seconds=valid_seconds)))

    def activate(self, *, username: str, password_hash: str, now: datetime) -> None:
        """The person chose username and password with the code sent to the primary
        address: active, and that address is verified."""
        self.status = "active"
        self.username = username
        self.password_hash = password_hash
        self.activation_code_hash = None
        self.activation_expires = 0.0
        self.activated_at = now
        self.emails = [e.model_copy(update={"verified": True}) if e.primary else e
                       for e in self.emails]
        self.activated()

    def change_role(self, role: str, permissions: list[str], parent_user_id: str | None
                    ) -> None:
        if self.roles == [role] and self.permissions == permissions:
            return
        self.roles = [role]
        self.permissions = permissions
        self.parent_user_id = parent_user_id
        self.record(events.ROLE_CHANGED, events.RoleChanged(
            user_id=self.id, company_id=self.company_id, email=self.email,
            roles=self.roles, permissions=permissions))

    def deactivate(self) -> None:
        if self.status == "deactivated":
            return
        self.status_before_deactivation = self.status
        self.status = "deactivated"
        self.record(events.USER_DEACTIVATED, events.UserStatusChanged(
            user_id=self.id, company_id=self.company_id, email=self.email))

    def reactivate(self) -> None:
        """Active again, or, never activated, waiting for an activation code again."""
        if self.status != "deactivated":
            return
        self.status = self.status_before_deactivation or (
            "active" if self.password_hash else "pending_activation")
        self.forget("status_before_deactivation")
        self.record(events.USER_REACTIVATED, events.UserStatusChanged(
            user_id=self.id, company_id=self.company_id, email=self.email))
