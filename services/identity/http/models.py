"""Response models shared by several of identity's route modules."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Accepted(BaseModel):
    detail: str


class PhoneAccount(BaseModel):
    account_id: str
    company_id: str
    company_name: str
    name: str


class Session(BaseModel):
    """The answer to a login step: tokens, or the next step (an SMS code)."""

    status: Literal["authenticated", "code_required", "account_choice_required"]
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
    # ID-6: the accounts a mobile number leads to, offered once its code was entered.
    accounts: list[PhoneAccount] | None = None
