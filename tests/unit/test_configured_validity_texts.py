"""ID-2 (seed 001 "Der Freischaltcode verliert nach 10 Tagen seine Gültigkeit", "Das
Einmal-Passwort verliert nach 10 Tagen seine Gültigkeit"): the validity of activation codes
and one-time passwords is configured in days or hours, and the emails and the expiry problems
state the configured one, not a fixed "10 days"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import errors
from services.contracts.domain import one_time_passwords as otp
from services.contracts.settings import ContractsSettings
from services.identity.domain import users as rules
from services.identity.domain.errors import ActivationCodeExpired
from services.identity.settings import IdentitySettings
from services.notifications.consumers import ActivationCodeIssued, OneTimePasswordIssued
from services.notifications.handlers import Notifications
from services.notifications.messages import render
from services.notifications.outgoing import activation_code, customer_number_password
from services.notifications.sending import render_values
from services.notifications.settings import NotificationsSettings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
CTX = Notifications(store=None, email=None, sms=None,  # type: ignore[arg-type]
                    settings=NotificationsSettings(portal_base_url="https://portal.test"))


def activation_email(valid_for: str | None, language: str) -> str:
    data = {"user_id": "u", "company_id": "c", "email": "bela@example.com",
            "language": language, "code": "K7QX", "expires_at": NOW.isoformat()}
    if valid_for is not None:
        data["valid_for"] = valid_for
    out = activation_code(CTX, ActivationCodeIssued.model_validate(data))
    return render(out.kind, language, render_values(CTX, language, out.values, out.secrets)).text


def otp_email(valid_for: str, language: str) -> str:
    out = customer_number_password(CTX, OneTimePasswordIssued.model_validate({
        "customer_number": "1234567890", "kind": "landline", "holder_name": "Muster GmbH",
        "contact_email": "it@muster.example", "language": language,
        "one_time_password": "ABCD", "expires_at": NOW.isoformat(), "valid_for": valid_for}))
    return render(out.kind, language, render_values(CTX, language, out.values, out.secrets)).text


def test_settings_take_the_validity_in_hours_as_well_as_days():
    assert IdentitySettings().activation_code_validity == timedelta(days=10)
    assert IdentitySettings(activation_code_hours=2).activation_code_validity == timedelta(
        hours=2)
    assert ContractsSettings().otp_valid_days == 10
    assert ContractsSettings(otp_valid_hours=36).otp_valid_days == 1.5


@pytest.mark.parametrize("valid_for,language,stated", [
    ("P10D", "de", "(10 Tage)"), ("PT36H", "de", "(36 Stunden)"), ("PT48H", "de", "(2 Tage)"),
    ("PT36H", "en", "(36 hours)"), ("P1D", "en", "(1 day)"), ("PT2H", "hu", "2 óráig,"),
])
def test_activation_email_states_the_configured_validity(valid_for, language, stated):
    text = activation_email(valid_for, language)
    assert stated in text
    assert "10 days" not in text.replace(stated, "") and "10 Tage" not in text.replace(stated, "")


def test_activation_email_of_an_older_event_without_validity_names_only_the_date():
    text = activation_email(None, "en")
    assert "valid until" in text and "days" not in text


@pytest.mark.parametrize("valid_for,language,stated", [
    ("P3D", "de", "gültig (3 Tage)"), ("PT12H", "en", "(12 hours)"), ("P10D", "hu", "10 napig,"),
])
def test_one_time_password_email_states_the_configured_validity(valid_for, language, stated):
    assert stated in otp_email(valid_for, language)


def test_expired_one_time_password_problem_states_the_validity_it_was_issued_with():
    _, record = otp.issue("1234567890", NOW, valid_days=0.25, pepper=b"p")
    doc = cn.CustomerNumber(id="1234567890", kind="landline", segment="business",
                            holder_name="Muster GmbH", contact_email="it@muster.example",
                            otp=record)
    with pytest.raises(errors.OneTimePasswordExpired) as raised:
        doc.check_password_usable(now=NOW + timedelta(hours=7))
    assert "it is valid for 6 hours" in raised.value.detail


def test_expired_activation_code_problem_states_the_configured_validity():
    user = rules.User.new(
        user_id="u", company_id="c", email="u@example.com", email_verified=False,
        username=None, first_name="A", surname="B", phone=None, language="en", role="user",
        status="pending_activation", password_hash=None, now=NOW)
    user.give_activation_code(code="ABC", code_hash="h", expires=NOW.timestamp(),
                              valid_seconds=2 * 3600)
    with pytest.raises(ActivationCodeExpired) as raised:
        rules.check_activation_code(user, True, NOW.timestamp() + 1, 3)
    assert "a code is valid for 2 hours" in raised.value.detail
