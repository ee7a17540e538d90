"""Events notifications consumes: what it reads of each (the data models, tolerant readers of
other services' events) and one table of subscriptions. Each message-bearing event becomes its
messages (NOT-1, ``MESSAGES``; how each is composed: ``outgoing``); identity's user and company
events keep the projections that choose the language (NOT-2) and find a recipient's
preferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import EmailStr

from services.notifications import handlers, outgoing
from services.notifications.domain.commands import (
    Deliver,
    Outgoing,
    RememberCompany,
    RememberUser,
    Resend,
)
from services.notifications.handlers import Notifications
from shared.bus import Subscription
from shared.events import CloudEvent, EventData

D = TypeVar("D", bound=EventData)
RESET_CODE = "identity.password_reset_code.requested.v1"
EMAIL_CHANGED = "identity.email.changed.v1"


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
class PaymentMethodNotice(EventData):
    """What notifications reads of billing's payment-method events (activated, removed)."""

    company_id: str
    kind: str
    display: str
    invoice_email: EmailStr | None = None
    language: str | None = None


class PaymentMethodUpdated(PaymentMethodNotice):
    exp_month: int
    exp_year: int


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


class Message(NamedTuple, Generic[D]):
    """An event type, the data it carries, and the message it asks for (None: none)."""

    event_type: str
    model: type[D]
    compose: Callable[[Notifications, D], Outgoing | None]


MESSAGES: list[Message[Any]] = [
    Message("identity.registration.started.v1", RegistrationStarted, outgoing.registration),
    Message("identity.activation_code.issued.v1", ActivationCodeIssued, outgoing.activation_code),
    Message("identity.invitation.sent.v1", InvitationSent, outgoing.invitation),
    Message("identity.temporary_password.issued.v1", TemporaryPasswordIssued,
            outgoing.temporary_password),
    Message("identity.login_code.requested.v1", LoginCodeRequested, outgoing.login_code),
    Message("identity.password_reset.requested.v1", PasswordResetRequested,
            outgoing.password_reset),
    Message(RESET_CODE, PasswordResetCodeRequested, outgoing.password_reset_code),
    Message(RESET_CODE, PasswordResetCodeRequested, outgoing.password_reset_code_sms),
    Message("identity.password.changed.v1", PasswordChanged, outgoing.password_changed),
    Message("identity.email_change.requested.v1", EmailChangeRequested, outgoing.email_change),
    Message("identity.email.changed.v1", EmailChanged, outgoing.email_changed),
    Message("identity.username.changed.v1", UsernameChanged, outgoing.username_changed),
    Message("identity.phone_verification.requested.v1", PhoneVerificationRequested,
            outgoing.phone_verification),
    Message("identity.phone.changed.v1", PhoneChanged, outgoing.phone_changed),
    Message("identity.phone.changed.v1", PhoneChanged, outgoing.phone_changed_sms),
    Message("contracts.one_time_password.issued.v1", OneTimePasswordIssued,
            outgoing.customer_number_password),
    Message("contracts.permissions.transferred.v1", PermissionsTransferred,
            outgoing.permissions_transferred),
    Message("billing.payment_method.activated.v1", PaymentMethodNotice,
            outgoing.payment_method),
    Message("billing.payment_method.removed.v1", PaymentMethodNotice,
            outgoing.payment_method_removed),
    Message("billing.payment_method.updated.v1", PaymentMethodUpdated,
            outgoing.payment_method_updated),
    Message("billing.invoice.recorded.v1", InvoiceRecorded, outgoing.invoice),
    Message("identity.customer_number_access.requested.v1", CustomerNumberAccessRequested,
            outgoing.customer_number_access),
]


def subscriptions(uow: Notifications | None) -> list[Subscription[Any]]:
    """Every consumed type with its data model and handler; ``None``: the table only, to
    list what is consumed (the event catalogue), its handlers not to be called."""
    def ready() -> Notifications:
        if uow is None:
            raise RuntimeError("a subscription listed without its unit was called")
        return uow

    def sending(etype: str, messages: list[Message[D]]
                ) -> Callable[[CloudEvent, D], Awaitable[None]]:
        async def handle(event: CloudEvent, data: D) -> None:
            for message in messages:  # each delivery is idempotent on (event, channel, address)
                out = message.compose(ready(), data)
                if out is None:
                    continue
                out.company_id = out.company_id or event.companyid
                await handlers.deliver(Deliver(event.id, etype, out), ready())
        return handle

    by_type: dict[str, list[Message[Any]]] = {}
    for message in MESSAGES:
        by_type.setdefault(message.event_type, []).append(message)
    send = {etype: sending(etype, messages) for etype, messages in by_type.items()}

    async def company_registered(event: CloudEvent, data: CompanyRegistered) -> None:
        await handlers.remember_company(RememberCompany(data.company_id, data.language),
                                        ready())
        await handlers.remember_user(RememberUser(
            data.admin_user_id, data.company_id, str(data.admin_email), data.language), ready())

    async def company_settings_changed(event: CloudEvent, data: CompanySettingsChanged) -> None:
        await handlers.remember_company(RememberCompany(data.company_id, data.language),
                                        ready())

    async def user_activated(event: CloudEvent, data: UserActivated) -> None:
        await handlers.remember_user(RememberUser(
            data.user_id, data.company_id, str(data.email), data.language), ready())

    async def email_changed(event: CloudEvent, data: EmailChanged) -> None:
        await handlers.remember_user(RememberUser(
            data.user_id, data.company_id, str(data.new_email), None), ready())
        await send[EMAIL_CHANGED](event, data)

    async def resend_requested(event: CloudEvent, data: ResendRequested) -> None:
        await handlers.resend(Resend(event.id, data.delivery_id, data.resend_id), ready())

    return [
        *(Subscription(etype, by_type[etype][0].model,
                       email_changed if etype == EMAIL_CHANGED else handle)
          for etype, handle in send.items()),
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("identity.company.settings_changed.v1", CompanySettingsChanged,
                     company_settings_changed),
        Subscription("identity.user.activated.v1", UserActivated, user_activated),
        Subscription("notifications.resend.requested.v1", ResendRequested, resend_requested),
    ]
