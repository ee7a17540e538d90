"""Every message kind the platform sends (NOT-1): channel, whether it is a security message
(always sent, whatever the recipient's preferences) and whether it carries a secret (a code,
a link with a token, a temporary password), which is never stored and never resent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True)
class Kind:
    name: str
    channel: str  # "email" or "sms"
    essential: bool  # security and account messages: preferences do not apply
    secret: bool  # carries a code or a link with a token: never stored, never resent
    link: bool  # the message must contain a link into the portal


KINDS = {k.name: k for k in [
    Kind("registration_verification", "email", essential=True, secret=True, link=True),
    Kind("activation_code", "email", essential=True, secret=True, link=True),
    Kind("invitation", "email", essential=True, secret=True, link=True),
    Kind("temporary_password", "email", essential=True, secret=True, link=True),
    Kind("login_code", "sms", essential=True, secret=True, link=False),
    Kind("password_reset", "email", essential=True, secret=True, link=True),
    Kind("password_reset_code", "email", essential=True, secret=True, link=True),
    Kind("password_reset_code_sms", "sms", essential=True, secret=True, link=False),
    Kind("password_changed", "email", essential=True, secret=False, link=True),
    Kind("email_change_verification", "email", essential=True, secret=True, link=True),
    Kind("email_changed", "email", essential=True, secret=False, link=True),
    Kind("username_changed", "email", essential=True, secret=False, link=True),
    Kind("phone_verification", "sms", essential=True, secret=True, link=False),
    Kind("phone_changed", "email", essential=True, secret=False, link=True),
    Kind("phone_changed_sms", "sms", essential=True, secret=False, link=False),
    Kind("customer_number_password", "email", essential=True, secret=True, link=True),
    Kind("customer_number_access", "email", essential=True, secret=True, link=True),
    Kind("permissions_transferred", "email", essential=False, secret=False, link=True),
    Kind("payment_method_activated", "email", essential=False, secret=False, link=True),
    Kind("payment_method_removed", "email", essential=False, secret=False, link=True),
    Kind("payment_method_updated", "email", essential=False, secret=False, link=True),
    Kind("invoice_issued", "email", essential=False, secret=False, link=True),
]}
# The names as types (the API's filters declare them); KINDS lists the same, in this order.
KindName = Literal[
    "registration_verification",
    "activation_code",
    "invitation",
    "temporary_password",
    "login_code",
    "password_reset",
    "password_reset_code",
    "password_reset_code_sms",
    "password_changed",
    "email_change_verification",
    "email_changed",
    "username_changed",
    "phone_verification",
    "phone_changed",
    "phone_changed_sms",
    "customer_number_password",
    "customer_number_access",
    "permissions_transferred",
    "payment_method_activated",
    "payment_method_removed",
    "payment_method_updated",
    "invoice_issued",
]
ChannelName = Literal["email", "sms"]
StatusName = Literal["queued", "sent", "failed", "suppressed"]
CHANNELS: tuple[str, ...] = get_args(ChannelName)
STATUSES: tuple[str, ...] = get_args(StatusName)
