"""The events notifications consumes and what it reads of each: the data a subscription
declares and its handler receives, typed (``consumers.SUBSCRIPTIONS``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import EmailStr

from shared.events import EventData

RESET_CODE = "identity.password_reset_code.requested.v1"


# -- identity ----------------------------------------------------------------------------------
class RegistrationStarted(EventData):
    email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


class CompanyRegistered(EventData):
    company_id: str
    admin_user_id: str
    admin_email: EmailStr
    language: str


class CompanySettingsChanged(EventData):
    company_id: str
    language: str


class UserActivated(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str | None = None


class ActivationCodeIssued(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str | None = None
    code: str
    expires_at: datetime
    valid_for: timedelta | None = None


class InvitationSent(EventData):
    company_id: str
    company_name: str
    email: EmailStr
    role: str
    language: str | None = None
    invited_by_name: str
    token: str
    expires_at: datetime


class TemporaryPasswordIssued(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str | None = None
    login_id: str
    temporary_password: str


class LoginCodeRequested(EventData):
    user_id: str
    company_id: str
    phone: str
    language: str | None = None
    code: str
    expires_at: datetime


class PasswordResetRequested(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


class PasswordChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    language: str | None = None
    changed_at: datetime


class EmailChangeRequested(EventData):
    user_id: str
    company_id: str
    new_email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


class EmailChanged(EventData):
    user_id: str
    company_id: str
    old_email: EmailStr
    new_email: EmailStr
    language: str | None = None


class UsernameChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    username: str
    language: str | None = None


class PhoneVerificationRequested(EventData):
    user_id: str
    company_id: str
    phone: str
    language: str | None = None
    code: str
    expires_at: datetime


class PhoneChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    old_phone: str | None = None
    new_phone: str
    language: str | None = None
    changed_at: datetime


class PasswordResetCodeRequested(EventData):
    user_id: str
    company_id: str
    channel: str
    email: EmailStr
    phone: str | None = None
    language: str | None = None
    code: str
    expires_at: datetime


class CustomerNumberAccessRequested(EventData):
    customer_number: str
    holder_name: str
    email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


# -- contracts ---------------------------------------------------------------------------------
class OneTimePasswordIssued(EventData):
    customer_number: str
    kind: str
    holder_name: str
    contact_email: EmailStr
    language: str | None = None
    one_time_password: str
    expires_at: datetime
    valid_for: timedelta | None = None


class PermissionsTransferred(EventData):
    from_company_id: str
    to_company_id: str
    to_admin_email: EmailStr
    customer_number: str
    contract_id: str
    rights: list[str]
    language: str | None = None


# -- billing -----------------------------------------------------------------------------------
class PaymentMethodActivated(EventData):
    company_id: str
    kind: str
    display: str
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodRemoved(EventData):
    company_id: str
    kind: str
    display: str
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodUpdated(EventData):
    company_id: str
    kind: str
    display: str
    exp_month: int
    exp_year: int
    invoice_email: EmailStr | None = None
    language: str | None = None


class InvoiceRecorded(EventData):
    company_id: str
    number: str
    amount_minor: int
    currency: str
    due_date: date
    payment_method_display: str
    invoice_email: EmailStr
    language: str | None = None


# -- notifications' own ------------------------------------------------------------------------
class ResendRequested(EventData):
    delivery_id: str
    resend_id: str
