"""The messages of a password reset by one-time code (ID-8, seed 002): the code goes by the
one channel its event names, to the account's email address or by SMS to its phone.
``consumers.MESSAGES`` lists them with the others."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr

from services.notifications.handlers import Notifications, Outgoing
from shared.events import EventData

RESET_CODE = "identity.password_reset_code.requested.v1"


class PasswordResetCodeRequested(EventData):
    user_id: str
    company_id: str
    channel: str
    email: EmailStr
    phone: str | None = None
    language: str | None = None
    code: str
    expires_at: datetime


def password_reset_code(ctx: Notifications, d: PasswordResetCodeRequested) -> Outgoing | None:
    if d.channel != "email":
        return None
    return Outgoing("password_reset_code", str(d.email), d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def password_reset_code_sms(ctx: Notifications,
                            d: PasswordResetCodeRequested) -> Outgoing | None:
    if d.channel != "sms" or not d.phone:
        return None
    return Outgoing("password_reset_code_sms", d.phone, d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


MESSAGES = [
    (RESET_CODE, PasswordResetCodeRequested, password_reset_code),
    (RESET_CODE, PasswordResetCodeRequested, password_reset_code_sms),
]
