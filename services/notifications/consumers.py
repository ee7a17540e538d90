"""Events notifications consumes, declared in one table: each message-bearing event becomes
one message (NOT-1); identity's user and company events keep the projections that choose the
language (NOT-2) and find a recipient's preferences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, EmailStr

from services.notifications import customer_number_messages, handlers, password_reset_code_messages
from services.notifications.billing_messages import BILLING_MESSAGES
from services.notifications.domain.recipients import mask_email, mask_phone
from services.notifications.handlers import Notifications, Outgoing
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


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


# Each message-bearing event: the message it asks for (None: no message). An event that asks
# for several messages (one per channel) is listed once per message.
Compose = Callable[[Notifications, BaseModel], Outgoing | None]


def _seconds(validity: timedelta | None) -> int:
    """A code's configured validity for its text (0: an older event without it)."""
    return round(validity.total_seconds()) if validity else 0


def _registration(ctx: Notifications, d: RegistrationStarted) -> Outgoing:
    return Outgoing("registration_verification", str(d.email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": ctx.token_link("registration_verification", d.token)})


def _activation_code(ctx: Notifications, d: ActivationCodeIssued) -> Outgoing:
    return Outgoing("activation_code", str(d.email), d.language,
                    values={"expires_at": d.expires_at, "valid_seconds": _seconds(d.valid_for)},
                    secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def _invitation(ctx: Notifications, d: InvitationSent) -> Outgoing:
    return Outgoing("invitation", str(d.email), d.language,
                    values={"company_name": d.company_name, "role": d.role,
                            "invited_by_name": d.invited_by_name, "expires_at": d.expires_at},
                    secrets={"link": ctx.token_link("invitation", d.token)},
                    company_id=d.company_id)


def _temporary_password(ctx: Notifications, d: TemporaryPasswordIssued) -> Outgoing:
    return Outgoing("temporary_password", str(d.email), d.language,
                    values={"login_id": d.login_id},
                    secrets={"temporary_password": d.temporary_password},
                    company_id=d.company_id, user_id=d.user_id)


def _login_code(ctx: Notifications, d: LoginCodeRequested) -> Outgoing:
    return Outgoing("login_code", d.phone, d.language, values={"expires_at": d.expires_at},
                    secrets={"code": d.code}, company_id=d.company_id, user_id=d.user_id)


def _password_reset(ctx: Notifications, d: PasswordResetRequested) -> Outgoing:
    return Outgoing("password_reset", str(d.email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": ctx.token_link("password_reset", d.token)},
                    company_id=d.company_id, user_id=d.user_id)


def _password_changed(ctx: Notifications, d: PasswordChanged) -> Outgoing:
    return Outgoing("password_changed", str(d.email), d.language,
                    values={"changed_at": d.changed_at}, company_id=d.company_id,
                    user_id=d.user_id)


def _email_change(ctx: Notifications, d: EmailChangeRequested) -> Outgoing:
    # To the NEW address: whoever can read it proves it.
    return Outgoing("email_change_verification", str(d.new_email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": ctx.token_link("email_change_verification", d.token)},
                    company_id=d.company_id, user_id=d.user_id)


def _email_changed(ctx: Notifications, d: EmailChanged) -> Outgoing:
    # A notice to the OLD address: its owner learns of a change they may not have made.
    return Outgoing("email_changed", str(d.old_email), d.language,
                    values={"new_email": mask_email(str(d.new_email))},
                    company_id=d.company_id, user_id=d.user_id)


def _username_changed(ctx: Notifications, d: UsernameChanged) -> Outgoing:
    return Outgoing("username_changed", str(d.email), d.language,
                    values={"username": d.username}, company_id=d.company_id,
                    user_id=d.user_id)


def _phone_verification(ctx: Notifications, d: PhoneVerificationRequested) -> Outgoing:
    # To the NEW phone: whoever holds it proves it with the code.
    return Outgoing("phone_verification", d.phone, d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def _phone_changed(ctx: Notifications, d: PhoneChanged) -> Outgoing:
    # A notice to the primary address: the owner learns of a change they may not have made.
    return Outgoing("phone_changed", str(d.email), d.language,
                    values={"new_phone": mask_phone(d.new_phone), "changed_at": d.changed_at},
                    company_id=d.company_id, user_id=d.user_id)


def _phone_changed_sms(ctx: Notifications, d: PhoneChanged) -> Outgoing | None:
    # And to the OLD phone, which no longer receives the login codes.
    if not d.old_phone or d.old_phone == d.new_phone:
        return None
    return Outgoing("phone_changed_sms", d.old_phone, d.language,
                    values={"new_phone": mask_phone(d.new_phone)},
                    company_id=d.company_id, user_id=d.user_id)


def _customer_number_password(ctx: Notifications, d: OneTimePasswordIssued) -> Outgoing:
    return Outgoing("customer_number_password", str(d.contact_email), d.language,
                    values={"customer_number": d.customer_number, "holder_name": d.holder_name,
                            "number_kind": d.kind, "expires_at": d.expires_at,
                            "valid_seconds": _seconds(d.valid_for)},
                    secrets={"one_time_password": d.one_time_password})


def _permissions_transferred(ctx: Notifications, d: PermissionsTransferred) -> Outgoing:
    return Outgoing("permissions_transferred", str(d.to_admin_email), d.language,
                    values={"customer_number": d.customer_number,
                            "contract_id": d.contract_id, "rights": list(d.rights)},
                    company_id=d.to_company_id)


MESSAGES: list[tuple[str, type[EventData], Compose]] = [
    ("identity.registration.started.v1", RegistrationStarted, _registration),
    ("identity.activation_code.issued.v1", ActivationCodeIssued, _activation_code),
    ("identity.invitation.sent.v1", InvitationSent, _invitation),
    ("identity.temporary_password.issued.v1", TemporaryPasswordIssued, _temporary_password),
    ("identity.login_code.requested.v1", LoginCodeRequested, _login_code),
    ("identity.password_reset.requested.v1", PasswordResetRequested, _password_reset),
    *password_reset_code_messages.MESSAGES,
    ("identity.password.changed.v1", PasswordChanged, _password_changed),
    ("identity.email_change.requested.v1", EmailChangeRequested, _email_change),
    ("identity.email.changed.v1", EmailChanged, _email_changed),
    ("identity.username.changed.v1", UsernameChanged, _username_changed),
    ("identity.phone_verification.requested.v1", PhoneVerificationRequested,
     _phone_verification),
    ("identity.phone.changed.v1", PhoneChanged, _phone_changed),
    ("identity.phone.changed.v1", PhoneChanged, _phone_changed_sms),
    ("contracts.one_time_password.issued.v1", OneTimePasswordIssued, _customer_number_password),
    ("contracts.permissions.transferred.v1", PermissionsTransferred, _permissions_transferred),
    *BILLING_MESSAGES,
    *customer_number_messages.MESSAGES,
]


class ResendRequested(EventData):
    delivery_id: str
    resend_id: str


def subscriptions(ctx: Notifications | None) -> list[Subscription]:
    def message_handler(etype: str, compose: Compose):
        async def handle(event: CloudEvent, data: BaseModel) -> None:
            out = compose(ctx, data)
            if out is None:
                return
            out.company_id = out.company_id or event.companyid
            await handlers.deliver(ctx, event_id=event.id, event_type=etype, out=out)
        return handle

    async def company_registered(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CompanyRegistered)
        await handlers.remember_company(ctx, company_id=data.company_id,
                                        language=data.language)
        await handlers.remember_user(ctx, user_id=data.admin_user_id,
                                     company_id=data.company_id, email=str(data.admin_email),
                                     language=data.language)

    async def company_settings_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CompanySettingsChanged)
        await handlers.remember_company(ctx, company_id=data.company_id,
                                        language=data.language)

    async def user_activated(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, UserActivated)
        await handlers.remember_user(ctx, user_id=data.user_id, company_id=data.company_id,
                                     email=str(data.email), language=data.language)

    email_changed_message = message_handler("identity.email.changed.v1", _email_changed)

    async def email_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, EmailChanged)
        await handlers.remember_user(ctx, user_id=data.user_id, company_id=data.company_id,
                                     email=str(data.new_email), language=None)
        await email_changed_message(event, data)

    async def resend_requested(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, ResendRequested)
        await handlers.resend(ctx, event_id=event.id, delivery_id=data.delivery_id,
                              resend_id=data.resend_id)

    def messages_handler(etype: str, composers: list[Compose]):
        handlers_ = [message_handler(etype, compose) for compose in composers]

        async def handle(event: CloudEvent, data: BaseModel) -> None:
            for send in handlers_:  # each delivery is idempotent on (event, channel, address)
                await send(event, data)
        return handle

    by_type: dict[str, tuple[type[EventData], list[Compose]]] = {}
    for etype, model, compose in MESSAGES:
        by_type.setdefault(etype, (model, []))[1].append(compose)
    subs = [Subscription(etype, model,
                         email_changed if etype == "identity.email.changed.v1"
                         else messages_handler(etype, composers))
            for etype, (model, composers) in by_type.items()]
    return [
        *subs,
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("identity.company.settings_changed.v1", CompanySettingsChanged,
                     company_settings_changed),
        Subscription("identity.user.activated.v1", UserActivated, user_activated),
        Subscription("notifications.resend.requested.v1", ResendRequested, resend_requested),
    ]
