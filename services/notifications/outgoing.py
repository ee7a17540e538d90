"""The message each consumed event asks for (NOT-1): what of the event's data goes into the
message's values (kept in the delivery log), and what into its secrets (never kept). An event
that asks for several messages (one per channel) is listed once per message in
``consumers.MESSAGES``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from services.notifications.domain.commands import Outgoing
from services.notifications.domain.recipients import mask_email, mask_phone
from services.notifications.handlers import Notifications

if TYPE_CHECKING:  # the models live with the table in consumers, which imports this module
    from services.notifications.consumers import (
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
        PaymentMethodNotice,
        PaymentMethodUpdated,
        PermissionsTransferred,
        PhoneChanged,
        PhoneVerificationRequested,
        RegistrationStarted,
        TemporaryPasswordIssued,
        UsernameChanged,
    )


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


def _payment_method(kind: str, d: PaymentMethodNotice, **values: str) -> Outgoing | None:
    if d.invoice_email is None:
        return None  # no invoice address yet: nobody to tell
    return Outgoing(kind, str(d.invoice_email), d.language,
                    values={"method_kind": d.kind, "display": d.display, **values},
                    company_id=d.company_id)


def payment_method(uow: Notifications, d: PaymentMethodNotice) -> Outgoing | None:
    return _payment_method("payment_method_activated", d)


def payment_method_removed(uow: Notifications, d: PaymentMethodNotice) -> Outgoing | None:
    return _payment_method("payment_method_removed", d)


def payment_method_updated(uow: Notifications, d: PaymentMethodUpdated) -> Outgoing | None:
    return _payment_method("payment_method_updated", d,
                           expiry=f"{d.exp_month:02d}/{d.exp_year}")


def invoice(uow: Notifications, d: InvoiceRecorded) -> Outgoing:
    return Outgoing("invoice_issued", str(d.invoice_email), d.language,
                    values={"number": d.number, "amount_minor": d.amount_minor,
                            "currency": d.currency, "due_date": d.due_date.isoformat(),
                            "payment_method_display": d.payment_method_display},
                    company_id=d.company_id)
