"""Events of a password reset by one-time code (ID-8, seed 002), kept apart from events.py
(which re-exports them and lists them in PUBLISHED) so that module stays readable. The code
travels only inside ``data`` (for notifications) and is never logged."""

from datetime import datetime
from typing import Literal

from pydantic import EmailStr

from shared.events import EventData, EventSpec


class PasswordResetCodeAsked(EventData):
    """Someone asked for a password reset code for a login id, known or not: identity itself
    resolves the login id off the request, so every answer takes the same time (ID-8)."""

    request_id: str
    # As typed: an email address, a username or name@company.
    login: str
    channel: Literal["email", "sms"]


class PasswordResetCodeRequested(EventData):
    """A known user asked for a password reset code: send it to the account's email address
    or, for ``channel`` sms, to its phone."""

    user_id: str
    company_id: str
    channel: Literal["email", "sms"]
    email: EmailStr
    phone: str | None = None
    language: str
    code: str
    expires_at: datetime


PASSWORD_RESET_CODE_ASKED = EventSpec(
    "identity.password_reset_code.asked.v1", PasswordResetCodeAsked, "identity",
    "Someone asked for a password reset code by email or SMS (identity's own queue: it looks "
    "the login id up and, for an active account, issues "
    "identity.password_reset_code.requested.v1) (ID-8, seed 002).",
    example={"request_id": "5e0c2b7d9a1f4c63b8d27e4f0a9c1d35", "login": "bela@muster",
             "channel": "sms"})
PASSWORD_RESET_CODE_REQUESTED = EventSpec(
    "identity.password_reset_code.requested.v1", PasswordResetCodeRequested, "identity",
    "A known user forgot the password: send the one-time code by email or SMS (ID-8, "
    "seed 002).",
    example={"user_id": "5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10",
             "company_id": "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40", "channel": "sms",
             "email": "bela@example.com", "phone": "+36301234567", "language": "de",
             "code": "48392017", "expires_at": "2026-11-24T10:00:00Z"})
