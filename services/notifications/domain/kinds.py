"""Every message kind the platform sends (NOT-1): channel, whether it is a security message
(always sent, whatever the recipient's preferences) and whether it carries a secret (a code,
a link with a token, a temporary password), which is never stored and never resent."""

from __future__ import annotations

from dataclasses import dataclass


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
CHANNELS = ("email", "sms")
STATUSES = ("queued", "sent", "failed", "suppressed")
