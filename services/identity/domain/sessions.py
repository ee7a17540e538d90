"""Sessions: refresh tokens (rotation, families, revocation) and the login attempts waiting
for an SMS code (ID-5, ID-6). No I/O."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.identity.domain.aggregate import Aggregate

TokenStatus = Literal["active", "rotated", "revoked"]
FamilyStatus = Literal["active", "revoked"]
AttemptStatus = Literal["pending", "choosing", "done"]
AttemptPurpose = Literal["second_factor", "phone_login"]


class RefreshToken(BaseModel):
    """A refresh token issued as a bare secret, stored by the hash of its secret (``_id``):
    still honoured once (rotating it starts a ``SessionFamily`` of the same family id); a
    rotated one presented again revokes its whole family."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    token_hash: str = Field(alias="_id")
    family_id: str
    user_id: str
    company_id: str
    amr: list[str]
    # Set for a mobile-number session: its token reaches only that number's scope (ID-6).
    phone: str | None = None
    status: TokenStatus = "active"
    created_at: datetime
    # Epoch seconds.
    expires: float


# A session's refresh tokens are ``<family id>.<secret>``: the family id (32 hex digits) names
# the session's document. Tokens issued as a bare secret (``RefreshToken``) contain no dot.
_FAMILY_ID = re.compile(r"[0-9a-f]{32}")


def family_token(family_id: str, secret: str) -> str:
    return f"{family_id}.{secret}"


def token_family(token: str) -> str | None:
    """The family a refresh token names, or None for a token issued as a bare secret."""
    family_id, dot, _ = token.partition(".")
    return family_id if dot and _FAMILY_ID.fullmatch(family_id) else None


def issued_now(now: float) -> float:
    """When a token is issued, in epoch seconds cut to the millisecond, as a stored datetime
    would keep it (``User.password_changed_since``: nothing issued in the millisecond of a
    password change is newer than it)."""
    return math.floor(now * 1000) / 1000


class SessionFamily(BaseModel):
    """A session's refresh tokens as one document (``_id`` the family id): the hash of the
    current token and when it was issued. Rotating swaps the hash in one atomic write; every
    token carries its family id, so a token presented after it was swapped out is known as
    reused (its family ends) without keeping the hashes of the old ones."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(alias="_id")
    # The same as ``_id``: revoking by family reaches these and ``RefreshToken``s alike.
    family_id: str
    token_hash: str
    user_id: str
    company_id: str
    amr: list[str]
    # Set for a mobile-number session: its token reaches only that number's scope (ID-6).
    phone: str | None = None
    status: FamilyStatus = "active"
    created_at: datetime
    # The current token's issue time and end, epoch seconds (rewritten on every rotation).
    issued_at: float
    expires: float


class LoginAttempt(Aggregate):
    """A login waiting for its SMS code. A decoy (no user; a code hash nothing matches)
    answers for unknown and inactive numbers, so every number answers alike."""

    user_id: str | None
    company_id: str | None
    phone: str
    purpose: AttemptPurpose
    amr: list[str]
    status: AttemptStatus = "pending"
    created_at: datetime
    tries: int = 0
    code_hash: str
    code_expires: float
    resend_after: float
    # Until when the attempt is kept (a TTL index removes it then).
    expires_at: datetime
    # A mobile-number login: the accounts it may end in (the first gets the code).
    candidates: list[str] | None = None
    # Several accounts use the number: until when the caller may pick one.
    choose_until: float = 0.0

    @property
    def is_decoy(self) -> bool:
        return self.user_id is None


LoginStatus = Literal["authenticated", "code_required", "account_choice_required"]


class AccountOption(BaseModel):
    """One account a proven mobile number may log in to (ID-6)."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    company_id: str
    company_name: str
    name: str


class LoginAnswer(BaseModel):
    """What a login step answers: tokens (``authenticated``), or the next step: an SMS code
    (``code_required``) or a choice of account (``account_choice_required``). Every step that
    logs someone in answers it: login, code, refresh, activation, registration, invitation
    acceptance."""

    model_config = ConfigDict(frozen=True)

    status: LoginStatus
    access_token: str | None = None
    token_type: str | None = None
    expires_in: int | None = None
    refresh_token: str | None = None
    password_change_required: bool = False
    second_factor: Literal["sms"] | None = None
    login_attempt_id: str | None = None
    phone_hint: str | None = None
    code_expires_in: int | None = None
    resend_after_seconds: int | None = None
    accounts: list[AccountOption] | None = None


class NewAccountLoggedIn(BaseModel):
    """An account just made (registration, invitation acceptance) and its first login."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    company_id: str
    username: str | None = None
    login: LoginAnswer
