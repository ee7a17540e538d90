"""Events identity publishes. Codes, links and temporary passwords travel only inside
``data`` (for notifications) and are never logged.

Every event carries the company id in the envelope (``companyid``) and, where a message
follows, the recipient's ``language`` (de, en, hu)."""

from datetime import datetime, timedelta
from typing import Any

from pydantic import EmailStr

# Part of this catalogue, re-exported.
from services.identity.reset_code_events import (
    PASSWORD_RESET_CODE_ASKED as PASSWORD_RESET_CODE_ASKED,
)
from services.identity.reset_code_events import (
    PASSWORD_RESET_CODE_REQUESTED as PASSWORD_RESET_CODE_REQUESTED,
)
from services.identity.reset_code_events import PasswordResetCodeAsked as PasswordResetCodeAsked
from services.identity.reset_code_events import (
    PasswordResetCodeRequested as PasswordResetCodeRequested,
)
from shared.events import EventData, EventSpec, make_event

SOURCE = "/services/identity"


class RegistrationStarted(EventData):
    registration_id: str
    email: EmailStr
    language: str
    # The secret of the verification link; notifications builds the link from it.
    token: str
    expires_at: datetime


class CompanyRegistered(EventData):
    company_id: str
    company_name: str
    admin_user_id: str
    admin_email: EmailStr
    admin_first_name: str
    admin_surname: str
    admin_phone: str
    language: str


class UserActivated(EventData):
    """A user can log in now (registration, invitation, activation code)."""

    user_id: str
    company_id: str
    email: EmailStr
    first_name: str
    surname: str
    roles: list[str]
    # The master (company) administrator this user belongs under; None for a master admin.
    parent_user_id: str | None = None
    language: str


class ActivationCodeIssued(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str
    code: str
    expires_at: datetime
    # The configured validity (ISO 8601 duration, e.g. P10D): the email states it (ID-2).
    valid_for: timedelta | None = None


class InvitationSent(EventData):
    invitation_id: str
    company_id: str
    company_name: str
    email: EmailStr
    role: str
    language: str
    invited_by_name: str
    token: str
    expires_at: datetime


class InvitationAccepted(EventData):
    invitation_id: str
    company_id: str
    user_id: str
    email: EmailStr
    role: str


class TemporaryPasswordIssued(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str
    login_id: str
    temporary_password: str


class LoginCodeRequested(EventData):
    login_attempt_id: str
    user_id: str
    company_id: str
    phone: str
    language: str
    code: str
    expires_at: datetime


class PasswordResetRequested(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str
    token: str
    expires_at: datetime


class PasswordResetAsked(EventData):
    """Someone asked for a reset link for an address, known or not: identity itself resolves
    the address off the request, so both answers take the same time."""

    request_id: str
    email: EmailStr


class PhoneVerificationRequested(EventData):
    user_id: str
    company_id: str
    # The new number: the code goes there, and it receives login codes only once confirmed.
    phone: str
    language: str
    code: str
    expires_at: datetime


class PhoneChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    old_phone: str | None = None
    new_phone: str
    language: str
    changed_at: datetime


class PasswordChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str
    changed_at: datetime


class EmailChangeRequested(EventData):
    user_id: str
    company_id: str
    old_email: EmailStr
    new_email: EmailStr
    language: str
    token: str
    expires_at: datetime


class EmailChanged(EventData):
    user_id: str
    company_id: str
    old_email: EmailStr
    new_email: EmailStr
    language: str


class UsernameChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    username: str
    language: str


class RoleChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    roles: list[str]
    permissions: list[str]


class UserStatusChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr


class CompanySettingsChanged(EventData):
    company_id: str
    company_name: str
    language: str
    sms_login_step: bool
    sales_partner_access: bool


class LoginDomainChanged(EventData):
    """A company administrator gave the company a new login domain (ID-14); identity itself
    moves the company's ``name@previous`` usernames to it."""

    company_id: str
    login_domain: str
    previous_login_domain: str | None = None
    # Until then nobody else can take the previous domain.
    previous_reserved_until: datetime | None = None


class CustomerNumberAccessAsked(EventData):
    """Someone asked for a password link with a customer number (seed 004), known or not:
    identity resolves it off the request, like a reset by address."""

    request_id: str
    customer_number: str


class CustomerNumberAccessRequested(EventData):
    """A contract holder without a login asked for one: the link goes to the reference
    address the CRM holds for the number; setting the password opens the account."""

    request_id: str
    customer_number: str
    holder_name: str
    email: EmailStr
    language: str
    token: str
    expires_at: datetime


class CustomerNumberClaimed(EventData):
    """identity opened an account for a customer number's holder (a company named after the
    holder, this user its master administrator): contracts links the number to it as holder."""

    company_id: str
    user_id: str
    customer_number: str


def _spec(etype: str, model: type[EventData], summary: str, example: dict[str, Any]
          ) -> EventSpec:
    return EventSpec(etype, model, "identity", summary, example=example)


_USER = {"user_id": "5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10",
         "company_id": "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"}
_DE = {"language": "de"}
_WHEN = "2026-11-24T10:00:00Z"

REGISTRATION_STARTED = _spec(
    "identity.registration.started.v1", RegistrationStarted,
    "Someone asked to register with an email address: send the verification link (ID-1).",
    {"registration_id": "3f0c9a1e-2b7d-4c55-9f1a-0d6e8b7c1a22", "email": "anna@example.com",
     **_DE, "token": "Yx3…k9", "expires_at": _WHEN})
COMPANY_REGISTERED = _spec(
    "identity.company.registered.v1", CompanyRegistered,
    "A registration was completed: the company exists and its first user is its company "
    "administrator (ID-1). Billing opens the billing account, contracts the contract space.",
    {"company_id": _USER["company_id"], "company_name": "Muster GmbH",
     "admin_user_id": _USER["user_id"], "admin_email": "anna@example.com",
     "admin_first_name": "Anna", "admin_surname": "Muster", "admin_phone": "+36301234567",
     **_DE})
USER_ACTIVATED = _spec(
    "identity.user.activated.v1", UserActivated,
    "A user of a company can log in from now on (registration, invitation, activation code).",
    {**_USER, "email": "anna@example.com", "first_name": "Anna", "surname": "Muster",
     "roles": ["company_admin"], "parent_user_id": None, **_DE})
ACTIVATION_CODE_ISSUED = _spec(
    "identity.activation_code.issued.v1", ActivationCodeIssued,
    "A requested account got an activation code, valid for the configured time (10 days by "
    "default; valid_for): email it (ID-2).",
    {**_USER, "email": "anna@example.com", **_DE, "code": "K7…", "expires_at": _WHEN,
     "valid_for": "P10D"})
INVITATION_SENT = _spec(
    "identity.invitation.sent.v1", InvitationSent,
    "An administrator invited someone with a role: email the personal link (ID-11).",
    {"invitation_id": "9d2f…", "company_id": _USER["company_id"], "company_name": "Muster GmbH",
     "email": "bela@example.com", "role": "user", **_DE, "invited_by_name": "Anna Muster",
     "token": "…", "expires_at": _WHEN})
INVITATION_ACCEPTED = _spec(
    "identity.invitation.accepted.v1", InvitationAccepted,
    "An invitee set name and password; the administrator sees the invitation accepted (ID-11).",
    {"invitation_id": "9d2f…", **_USER, "email": "bela@example.com", "role": "user"})
TEMPORARY_PASSWORD_ISSUED = _spec(
    "identity.temporary_password.issued.v1", TemporaryPasswordIssued,
    "An administrator created an account: email its temporary password (ID-7).",
    {**_USER, "email": "bela@example.com", **_DE, "login_id": "bela@muster-gmbh",
     "temporary_password": "…"})
LOGIN_CODE_REQUESTED = _spec(
    "identity.login_code.requested.v1", LoginCodeRequested,
    "A login needs its SMS code: text it to the phone (ID-5, ID-6).",
    {"login_attempt_id": "a1…", **_USER, "phone": "+36301234567", **_DE, "code": "123456",
     "expires_at": _WHEN})
PASSWORD_RESET_REQUESTED = _spec(
    "identity.password_reset.requested.v1", PasswordResetRequested,
    "A known user forgot the password: email the reset link (ID-8).",
    {**_USER, "email": "anna@example.com", **_DE, "token": "…", "expires_at": _WHEN})
PASSWORD_RESET_ASKED = _spec(
    "identity.password_reset.asked.v1", PasswordResetAsked,
    "Someone asked for a password reset link (identity's own queue: it looks the address up "
    "and, for an active account, issues identity.password_reset.requested.v1) (ID-8).",
    {"request_id": "c41d0b8e2f7a4e93b5d61a0f9e8c7b21", "email": "anna@example.com"})
PHONE_VERIFICATION_REQUESTED = _spec(
    "identity.phone_verification.requested.v1", PhoneVerificationRequested,
    "A user entered a new login phone: text the confirmation code to it (ID-9).",
    {**_USER, "phone": "+36709876543", **_DE, "code": "123456", "expires_at": _WHEN})
PHONE_CHANGED = _spec(
    "identity.phone.changed.v1", PhoneChanged,
    "A new login phone was confirmed: send a notice to the old phone and the primary "
    "address (ID-9).",
    {**_USER, "email": "anna@example.com", "old_phone": "+36301234567",
     "new_phone": "+36709876543", **_DE, "changed_at": _WHEN})
PASSWORD_CHANGED = _spec(
    "identity.password.changed.v1", PasswordChanged,
    "A password was changed or reset: tell the user (ID-8, ID-9).",
    {**_USER, "email": "anna@example.com", **_DE, "changed_at": _WHEN})
EMAIL_CHANGE_REQUESTED = _spec(
    "identity.email_change.requested.v1", EmailChangeRequested,
    "A user added a new address: email the verification link to it (ID-10).",
    {**_USER, "old_email": "anna@example.com", "new_email": "anna.m@example.com", **_DE,
     "token": "…", "expires_at": _WHEN})
EMAIL_CHANGED = _spec(
    "identity.email.changed.v1", EmailChanged,
    "A new address became primary: send a notice to the old one (ID-10).",
    {**_USER, "old_email": "anna@example.com", "new_email": "anna.m@example.com", **_DE})
USERNAME_CHANGED = _spec(
    "identity.username.changed.v1", UsernameChanged,
    "A user changed the username (ID-9).",
    {**_USER, "email": "anna@example.com", "username": "anna.muster", **_DE})
ROLE_CHANGED = _spec(
    "identity.user.role_changed.v1", RoleChanged,
    "An administrator changed a user's roles or delegated permissions (ID-12).",
    {**_USER, "email": "bela@example.com", "roles": ["billing_admin"], "permissions": []})
USER_DEACTIVATED = _spec(
    "identity.user.deactivated.v1", UserStatusChanged,
    "An administrator deactivated a user (ID-12).", {**_USER, "email": "bela@example.com"})
USER_REACTIVATED = _spec(
    "identity.user.reactivated.v1", UserStatusChanged,
    "An administrator reactivated a user (ID-12).", {**_USER, "email": "bela@example.com"})
COMPANY_SETTINGS_CHANGED = _spec(
    "identity.company.settings_changed.v1", CompanySettingsChanged,
    "A company administrator changed the company's settings (ID-13).",
    {"company_id": _USER["company_id"], "company_name": "Muster GmbH", **_DE,
     "sms_login_step": True, "sales_partner_access": False})
LOGIN_DOMAIN_CHANGED = _spec(
    "identity.company.login_domain_changed.v1", LoginDomainChanged,
    "A company administrator changed the company's login domain (the part after @ in "
    "admin@… and name@… usernames, ID-14); identity's own queue moves the usernames, each "
    "moved user gets identity.username.changed.v1.",
    {"company_id": _USER["company_id"], "login_domain": "muster", "previous_login_domain":
     "muster-gmbh", "previous_reserved_until": "2027-02-22T10:00:00Z"})

_NUMBER = {"customer_number": "1234567890"}
CUSTOMER_NUMBER_ACCESS_ASKED = _spec(
    "identity.customer_number_access.asked.v1", CustomerNumberAccessAsked,
    "Someone asked for a password link with a customer number (identity's own queue: it "
    "looks the number up and sends a reset link to the holder account's address, or "
    "identity.customer_number_access.requested.v1 when the holder has no login yet) "
    "(seed 004, ID-8).",
    {"request_id": "c41d0b8e2f7a4e93b5d61a0f9e8c7b21", **_NUMBER})
CUSTOMER_NUMBER_ACCESS_REQUESTED = _spec(
    "identity.customer_number_access.requested.v1", CustomerNumberAccessRequested,
    "A contract holder without a login asked for one with the customer number: email the "
    "link that sets the password to the CRM's reference address (seed 004).",
    {"request_id": "c41d0b8e2f7a4e93b5d61a0f9e8c7b21", **_NUMBER,
     "holder_name": "Muster GmbH", "email": "it@muster.example", **_DE, "token": "…",
     "expires_at": _WHEN})
CUSTOMER_NUMBER_CLAIMED = _spec(
    "identity.customer_number.claimed.v1", CustomerNumberClaimed,
    "A customer number's holder set a password through the reference address: identity "
    "opened a company named after the holder with this user as master administrator; "
    "contracts links the number to it as contract holder (seed 004).",
    {**_USER, **_NUMBER})

PUBLISHED = [
    REGISTRATION_STARTED, COMPANY_REGISTERED, USER_ACTIVATED, ACTIVATION_CODE_ISSUED,
    INVITATION_SENT, INVITATION_ACCEPTED, TEMPORARY_PASSWORD_ISSUED, LOGIN_CODE_REQUESTED,
    PASSWORD_RESET_ASKED, PASSWORD_RESET_REQUESTED, PASSWORD_RESET_CODE_ASKED,
    PASSWORD_RESET_CODE_REQUESTED, PASSWORD_CHANGED, EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED, USERNAME_CHANGED, PHONE_VERIFICATION_REQUESTED, PHONE_CHANGED, ROLE_CHANGED,
    USER_DEACTIVATED, USER_REACTIVATED,
    COMPANY_SETTINGS_CHANGED, LOGIN_DOMAIN_CHANGED,
    CUSTOMER_NUMBER_ACCESS_ASKED, CUSTOMER_NUMBER_ACCESS_REQUESTED, CUSTOMER_NUMBER_CLAIMED,
]


def envelope(spec: EventSpec, data: EventData, *, subject: str,
             company_id: str | None) -> dict[str, Any]:
    """The envelope identity publishes for an event its aggregates recorded."""
    return make_event(spec, data, source=SOURCE, subject=subject, company_id=company_id)
