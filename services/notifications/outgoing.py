"""The message each consumed event asks for (NOT-1): what of the event's data goes into the
message's values (kept in the delivery log), and what into its secrets (never kept). An event
that asks for several messages (one per channel) is listed once per message in ``MESSAGES``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic, NamedTuple, TypeVar

from services.notifications.consumed import (
    RESET_CODE,
    ActivationCodeIssued,
    CustomerNumberAccessRequested,
    EmailChanged,
    EmailChangeRequested,
    InvitationSent,
    InvoiceRecorded,
    LoginCodeRequested,
    OneTimePasswordIssued,
    PasswordChanged,
    PasswordResetCodeRequested,
    PasswordResetRequested,
    PaymentMethodActivated,
    PaymentMethodRemoved,
    PaymentMethodUpdated,
    PermissionsTransferred,
    PhoneChanged,
    PhoneVerificationRequested,
    RegistrationStarted,
    TemporaryPasswordIssued,
    UsernameChanged,
)
from services.notifications.domain.commands import Outgoing
from services.notifications.domain.recipients import mask_email, mask_phone
from services.notifications.handlers import Notifications
from shared.events import EventData

D = TypeVar("D", bound=EventData)


class Message(NamedTuple, Generic[D]):
    """An event type, the data it carries, and the message it asks for (None: none)."""

    event_type: str
    model: type[D]
    compose: Callable[[Notifications, D], Outgoing | None]


def _seconds(validity: timedelta | None) -> int:
    """A code's configured validity for its text (0: an older event without it)."""
    return round(validity.total_seconds()) if validity else 0


def registration(uow: Notifications, d: RegistrationStarted) -> Outgoing:
    return Outgoing("registration_verification", str(d.email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": uow.token_link("registration_verification", d.token)})


def activation_code(uow: Notifications, d: ActivationCodeIssued) -> Outgoing:
    return Outgoing("activation_code", str(d.email), d.language,
                    values={"expires_at": d.expires_at, "valid_seconds": _seconds(d.valid_for)},
                    secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def invitation(uow: Notifications, d: InvitationSent) -> Outgoing:
    return Outgoing("invitation", str(d.email), d.language,
                    values={"company_name": d.company_name, "role": d.role,
                            "invited_by_name": d.invited_by_name, "expires_at": d.expires_at},
                    secrets={"link": uow.token_link("invitation", d.token)},
                    company_id=d.company_id)


def temporary_password(uow: Notifications, d: TemporaryPasswordIssued) -> Outgoing:
    return Outgoing("temporary_password", str(d.email), d.language,
                    values={"login_id": d.login_id},
                    secrets={"temporary_password": d.temporary_password},
                    company_id=d.company_id, user_id=d.user_id)


def login_code(uow: Notifications, d: LoginCodeRequested) -> Outgoing:
    return Outgoing("login_code", d.phone, d.language, values={"expires_at": d.expires_at},
                    secrets={"code": d.code}, company_id=d.company_id, user_id=d.user_id)


def password_reset(uow: Notifications, d: PasswordResetRequested) -> Outgoing:
    return Outgoing("password_reset", str(d.email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": uow.token_link("password_reset", d.token)},
                    company_id=d.company_id, user_id=d.user_id)


def password_changed(uow: Notifications, d: PasswordChanged) -> Outgoing:
    return Outgoing("password_changed", str(d.email), d.language,
                    values={"changed_at": d.changed_at}, company_id=d.company_id,
                    user_id=d.user_id)


def email_change(uow: Notifications, d: EmailChangeRequested) -> Outgoing:
    # To the NEW address: whoever can read it proves it.
    return Outgoing("email_change_verification", str(d.new_email), d.language,
                    values={"expires_at": d.expires_at},
                    secrets={"link": uow.token_link("email_change_verification", d.token)},
                    company_id=d.company_id, user_id=d.user_id)


def email_changed(uow: Notifications, d: EmailChanged) -> Outgoing:
    # A notice to the OLD address: its owner learns of a change they may not have made.
    return Outgoing("email_changed", str(d.old_email), d.language,
                    values={"new_email": mask_email(str(d.new_email))},
                    company_id=d.company_id, user_id=d.user_id)


def username_changed(uow: Notifications, d: UsernameChanged) -> Outgoing:
    return Outgoing("username_changed", str(d.email), d.language,
                    values={"username": d.username}, company_id=d.company_id,
                    user_id=d.user_id)


def phone_verification(uow: Notifications, d: PhoneVerificationRequested) -> Outgoing:
    # To the NEW phone: whoever holds it proves it with the code.
    return Outgoing("phone_verification", d.phone, d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def phone_changed(uow: Notifications, d: PhoneChanged) -> Outgoing:
    # A notice to the primary address: the owner learns of a change they may not have made.
    return Outgoing("phone_changed", str(d.email), d.language,
                    values={"new_phone": mask_phone(d.new_phone), "changed_at": d.changed_at},
                    company_id=d.company_id, user_id=d.user_id)


def phone_changed_sms(uow: Notifications, d: PhoneChanged) -> Outgoing | None:
    # And to the OLD phone, which no longer receives the login codes.
    if not d.old_phone or d.old_phone == d.new_phone:
        return None
    return Outgoing("phone_changed_sms", d.old_phone, d.language,
                    values={"new_phone": mask_phone(d.new_phone)},
                    company_id=d.company_id, user_id=d.user_id)


def customer_number_password(uow: Notifications, d: OneTimePasswordIssued) -> Outgoing:
    return Outgoing("customer_number_password", str(d.contact_email), d.language,
                    values={"customer_number": d.customer_number, "holder_name": d.holder_name,
                            "number_kind": d.kind, "expires_at": d.expires_at,
                            "valid_seconds": _seconds(d.valid_for)},
                    secrets={"one_time_password": d.one_time_password})


def permissions_transferred(uow: Notifications, d: PermissionsTransferred) -> Outgoing:
    return Outgoing("permissions_transferred", str(d.to_admin_email), d.language,
                    values={"customer_number": d.customer_number,
                            "contract_id": d.contract_id, "rights": list(d.rights)},
                    company_id=d.to_company_id)


def password_reset_code(uow: Notifications, d: PasswordResetCodeRequested) -> Outgoing | None:
    if d.channel != "email":
        return None
    return Outgoing("password_reset_code", str(d.email), d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def password_reset_code_sms(uow: Notifications,
                            d: PasswordResetCodeRequested) -> Outgoing | None:
    if d.channel != "sms" or not d.phone:
        return None
    return Outgoing("password_reset_code_sms", d.phone, d.language,
                    values={"expires_at": d.expires_at}, secrets={"code": d.code},
                    company_id=d.company_id, user_id=d.user_id)


def customer_number_access(uow: Notifications, d: CustomerNumberAccessRequested) -> Outgoing:
    # No company or user yet: the account is opened only when the password is set.
    return Outgoing("customer_number_access", str(d.email), d.language,
                    values={"customer_number": d.customer_number, "holder_name": d.holder_name,
                            "expires_at": d.expires_at},
                    secrets={"link": uow.token_link("customer_number_access", d.token)})


def payment_method(uow: Notifications, d: PaymentMethodActivated) -> Outgoing | None:
    if d.invoice_email is None:
        return None  # no invoice address yet: nobody to tell
    return Outgoing("payment_method_activated", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display},
                    company_id=d.company_id)


def payment_method_removed(uow: Notifications, d: PaymentMethodRemoved) -> Outgoing | None:
    if d.invoice_email is None:
        return None
    return Outgoing("payment_method_removed", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display},
                    company_id=d.company_id)


def payment_method_updated(uow: Notifications, d: PaymentMethodUpdated) -> Outgoing | None:
    if d.invoice_email is None:
        return None
    return Outgoing("payment_method_updated", str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display,
                            "expiry": f"{d.exp_month:02d}/{d.exp_year}"},
                    company_id=d.company_id)


def invoice(uow: Notifications, d: InvoiceRecorded) -> Outgoing:
    return Outgoing("invoice_issued", str(d.invoice_email), d.language,
                    values={"number": d.number, "amount_minor": d.amount_minor,
                            "currency": d.currency, "due_date": d.due_date.isoformat(),
                            "payment_method_display": d.payment_method_display},
                    company_id=d.company_id)


MESSAGES: list[Message[Any]] = [
    Message("identity.registration.started.v1", RegistrationStarted, registration),
    Message("identity.activation_code.issued.v1", ActivationCodeIssued, activation_code),
    Message("identity.invitation.sent.v1", InvitationSent, invitation),
    Message("identity.temporary_password.issued.v1", TemporaryPasswordIssued,
            temporary_password),
    Message("identity.login_code.requested.v1", LoginCodeRequested, login_code),
    Message("identity.password_reset.requested.v1", PasswordResetRequested, password_reset),
    Message(RESET_CODE, PasswordResetCodeRequested, password_reset_code),
    Message(RESET_CODE, PasswordResetCodeRequested, password_reset_code_sms),
    Message("identity.password.changed.v1", PasswordChanged, password_changed),
    Message("identity.email_change.requested.v1", EmailChangeRequested, email_change),
    Message("identity.email.changed.v1", EmailChanged, email_changed),
    Message("identity.username.changed.v1", UsernameChanged, username_changed),
    Message("identity.phone_verification.requested.v1", PhoneVerificationRequested,
            phone_verification),
    Message("identity.phone.changed.v1", PhoneChanged, phone_changed),
    Message("identity.phone.changed.v1", PhoneChanged, phone_changed_sms),
    Message("contracts.one_time_password.issued.v1", OneTimePasswordIssued,
            customer_number_password),
    Message("contracts.permissions.transferred.v1", PermissionsTransferred,
            permissions_transferred),
    Message("billing.payment_method.activated.v1", PaymentMethodActivated, payment_method),
    Message("billing.payment_method.removed.v1", PaymentMethodRemoved, payment_method_removed),
    Message("billing.payment_method.updated.v1", PaymentMethodUpdated, payment_method_updated),
    Message("billing.invoice.recorded.v1", InvoiceRecorded, invoice),
    Message("identity.customer_number_access.requested.v1", CustomerNumberAccessRequested,
            customer_number_access),
]
