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
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import StringConstraints

from services.identity.domain.errors import (
    ActivationCodeExpired,
    ActivationCodeInvalid,
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


def is_master(roles) -> bool:
    return COMPANY_ADMIN in roles


def check_may_assign(actor: dict, role: str, permissions: list[str] = ()) -> None:
    """Only a master administrator gives administrator roles or delegated permissions."""
    if is_master(actor["roles"]):
        return
    if permissions or role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may give administrator roles or "
                             "delegated permissions.", role=role)


def check_may_invite(actor: dict, role: str) -> None:
    """users:invite lets a sub-administrator invite users and billing administrators only."""
    if is_master(actor["roles"]):
        return
    if "users:invite" not in actor.get("permissions", []):
        raise RoleNotAllowed("Your role does not allow inviting users.", role=role)
    if role not in NON_ADMIN_ROLES:
        raise RoleNotAllowed("Only a company administrator may invite administrators.",
                             role=role)


def check_may_manage(actor: dict, target: dict) -> None:
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


def master_of(actor: dict) -> str | None:
    """The master administrator new users created by ``actor`` belong under."""
    return actor["_id"] if is_master(actor["roles"]) else actor.get("parent_user_id")


def parent_for(role: str, actor: dict) -> str | None:
    """A company administrator is a master and has no parent; anyone else is under one."""
    return None if role == COMPANY_ADMIN else master_of(actor)


def login_id(user: dict) -> str:
    return user.get("username") or user["email"]


def is_locked(user: dict, now: float | None = None) -> bool:
    return float(user.get("locked_until") or 0.0) > (now or time.time())


def check_activation_code(user: dict, matches: bool, now: float, tries_left: int) -> None:
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
