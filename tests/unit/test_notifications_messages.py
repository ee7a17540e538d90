"""Every message kind in every language renders completely (NOT-1, NOT-2), from the data the
publishers document in their event catalogue entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scripts import catalogue
from services.notifications.consumers import MESSAGES
from services.notifications.domain.formatting import format_money
from services.notifications.domain.kinds import KINDS
from services.notifications.handlers import Notifications
from services.notifications.messages import LANGUAGES, choose_language, kinds, render
from services.notifications.sending import render_values
from services.notifications.settings import NotificationsSettings

pytestmark = pytest.mark.unit

PORTAL = "https://portal.test"
SECRETS = {"code": "483920", "token": "tok-Yx3Pq9Zr", "temporary_password": "Tmp!Pass-81x",
           "one_time_password": "OTP-7Q2M"}
CTX = Notifications(store=None, email=None, sms=None,  # type: ignore[arg-type]
                    settings=NotificationsSettings(portal_base_url=PORTAL))


# Messages that depend on a field of their event: what the example must say for each.
VARIANTS = {("identity.password_reset_code.requested.v1", 0): {"channel": "email"},
            ("identity.password_reset_code.requested.v1", 1): {"channel": "sms"}}


def composed(etype: str, nth: int = 0):
    """The (``nth``) message the publisher's documented example asks for, with recognisable
    secrets."""
    examples = {s.type: s.example for s in catalogue.published()}
    data = {**examples[etype], **VARIANTS.get((etype, nth), {})}
    for field in ("code", "token", "temporary_password", "one_time_password"):
        if field in data:
            data[field] = SECRETS[field]
    model, compose = [(m, c) for t, m, c in MESSAGES if t == etype][nth]
    return compose(CTX, model.model_validate(data))


# Each (event type, n): the n-th message an event type asks for (one per channel).
ENTRIES = [(etype, [t for t, _, _ in MESSAGES][:i].count(etype))
           for i, (etype, _, _) in enumerate(MESSAGES)]
CASES = [(etype, nth, lang) for etype, nth in ENTRIES for lang in LANGUAGES]


def test_every_kind_has_a_template_in_every_language_and_a_consumed_event():
    assert sorted(KINDS) == kinds()
    consumed = set()
    for etype, nth in ENTRIES:
        consumed.add(composed(etype, nth).kind)
    assert consumed == set(KINDS)


@pytest.mark.parametrize("etype,nth,language", CASES)
def test_message_renders_completely_in_each_language(etype, nth, language):
    """NOT-1/NOT-2: no missing value (StrictUndefined), a subject, the link or code it owes."""
    out = composed(etype, nth)
    kind = KINDS[out.kind]
    rendered = render(out.kind, language, render_values(CTX, language, out.values, out.secrets))
    assert rendered.language == language
    assert rendered.text and "{{" not in rendered.text and "{%" not in rendered.text
    if kind.channel == "email":
        assert rendered.subject.strip()
        assert "\n" not in rendered.subject
        assert "<p>" in rendered.html and "{{" not in rendered.html
    else:
        assert len(rendered.text) <= 160 * 2, "an SMS code message stays within two parts"
    if kind.link:
        assert PORTAL in rendered.text
        assert PORTAL in rendered.html
    if "link" in out.secrets:
        assert SECRETS["token"] in rendered.text and SECRETS["token"] in rendered.html
    for secret in ("code", "temporary_password", "one_time_password"):
        if secret in out.secrets:
            assert SECRETS[secret] in rendered.text


def test_token_links_point_at_the_portal_pages_for_each_flow():
    links = {composed(t).kind: composed(t).secrets.get("link") for t, _, _ in MESSAGES}
    assert links["registration_verification"] == f"{PORTAL}/registration/verify?token=tok-Yx3Pq9Zr"
    assert links["invitation"] == f"{PORTAL}/invitations/accept?token=tok-Yx3Pq9Zr"
    assert links["password_reset"] == f"{PORTAL}/password/reset?token=tok-Yx3Pq9Zr"
    assert links["email_change_verification"] == f"{PORTAL}/email/verify?token=tok-Yx3Pq9Zr"


def test_email_change_link_goes_to_the_new_address_and_the_notice_to_the_old_one():
    assert composed("identity.email_change.requested.v1").address == "anna.m@example.com"
    notice = composed("identity.email.changed.v1")
    assert notice.address == "anna@example.com"
    assert notice.values["new_email"] == "a***@example.com"


def test_phone_code_goes_to_the_new_phone_and_the_notices_to_the_old_phone_and_the_inbox():
    assert composed("identity.phone_verification.requested.v1").address == "+36709876543"
    email, sms = (composed("identity.phone.changed.v1", n) for n in (0, 1))
    assert (email.kind, email.address) == ("phone_changed", "anna@example.com")
    assert (sms.kind, sms.address) == ("phone_changed_sms", "+36301234567")
    assert email.values["new_phone"] == sms.values["new_phone"] == "+367•••43"


def test_secret_values_are_kept_apart_from_the_values_that_are_stored():
    """NOT-4: what the delivery log keeps for a resend holds no code, password or token."""
    for etype, nth in ENTRIES:
        out = composed(etype, nth)
        stored = repr(out.values)
        for secret in SECRETS.values():
            assert secret not in stored, f"{etype} would store a secret"
        assert bool(out.secrets) == KINDS[out.kind].secret


def test_html_escapes_what_a_company_typed():
    out = composed("identity.invitation.sent.v1")
    out.values["company_name"] = "<script>alert(1)</script> GmbH"
    rendered = render("invitation", "de", render_values(CTX, "de", out.values, out.secrets))
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<script>alert(1)</script> GmbH" in rendered.text


def test_dates_and_amounts_read_the_way_each_language_writes_them():
    out = composed("billing.invoice.recorded.v1")
    de = render("invoice_issued", "de", render_values(CTX, "de", out.values, {}))
    en = render("invoice_issued", "en", render_values(CTX, "en", out.values, {}))
    hu = render("invoice_issued", "hu", render_values(CTX, "hu", out.values, {}))
    assert "49,90\u00a0€" in de.text and "15. Dezember 2026" in de.text
    assert "€49.90" in en.text and "15 December 2026" in en.text
    assert "2026. december 15." in hu.text
    assert format_money(1234567, "HUF", "hu") == "12\u00a0346\u00a0Ft"


def test_german_messages_address_the_reader_formally_and_hungarian_ones_politely():
    for etype, nth in ENTRIES:
        out = composed(etype, nth)
        if KINDS[out.kind].channel != "email":
            continue
        de = render(out.kind, "de", render_values(CTX, "de", out.values, out.secrets)).text
        hu = render(out.kind, "hu", render_values(CTX, "hu", out.values, out.secrets)).text
        assert not re.search(r"\b(du|dein|deine|dich|dir)\b", de), out.kind
        assert re.search(r"\b(Sie|Ihr|Ihre|Ihnen|Ihren)\b", de), out.kind
        assert hu.startswith("Tisztelt Ügyfelünk!"), out.kind


def test_language_is_the_recipients_else_the_companys_else_english():
    """NOT-2."""
    assert choose_language("hu", "de") == "hu"
    assert choose_language(None, "de") == "de"
    assert choose_language("fr", None) == "en"
    assert choose_language() == "en"


def test_sms_login_code_shows_the_local_time_it_expires():
    out = composed("identity.login_code.requested.v1")
    out.values["expires_at"] = datetime(2026, 7, 1, 10, 5, tzinfo=UTC)
    text = render("login_code", "de", render_values(CTX, "de", out.values, out.secrets)).text
    assert "483920" in text and "12:05 Uhr" in text  # Berlin in summer is UTC+2
