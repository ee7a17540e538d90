"""The emails notifications writes out itself (services/notifications/mail.py): what a mail
program reads from them is what the templates rendered."""

from __future__ import annotations

import email
import email.policy

import pytest

from services.notifications.mail import build_email
from services.notifications.messages import Rendered

RENDERED = Rendered(
    subject="Ihr Passwort wurde geändert – Geschäftskundenportal, bitte prüfen Sie es gleich",
    text="Guten Tag,\n\ndas Passwort wurde geändert. " + "Sehr lange Zeile " * 12 + "\n\nGrüße",
    html='<p>Guten Tag,</p>\n<p><a href="https://portal.example/x?a=1&amp;b=2">Zurücksetzen</a>'
         "</p>",
    language="de")


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_an_email_reads_back_as_the_rendered_subject_text_and_html() -> None:
    mail = build_email("Geschäftsportal <no-reply@business.example>", "anna@example.com",
                       RENDERED, "d-123")
    message = parsed(mail.data)
    assert message["Subject"] == RENDERED.subject
    assert message["From"].addresses[0].display_name == "Geschäftsportal"
    assert message["From"].addresses[0].addr_spec == "no-reply@business.example"
    assert message["To"] == "anna@example.com"
    assert message["Message-ID"] == "<d-123@business.example>" == mail.message_id
    assert message["Content-Language"] == "de" and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert text.strip() == RENDERED.text and html.strip() == RENDERED.html
    assert not message.defects and not any(p.defects for p in message.walk())
    assert (mail.sender, mail.recipient) == ("no-reply@business.example", "anna@example.com")


def test_every_line_of_an_email_stays_within_the_smtp_line_limit() -> None:
    data = build_email("Portal <no-reply@business.example>", "anna@example.com", RENDERED).data
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))
    assert data.isascii()  # quoted-printable and encoded words: fine for any relay


@pytest.mark.parametrize("field", ["recipient", "subject"])
def test_a_line_break_in_a_header_is_refused_not_turned_into_another_header(field) -> None:
    recipient, subject = "anna@example.com", "Hallo"
    if field == "recipient":
        recipient = "anna@example.com\r\nBcc: eve@example.com"
    else:
        subject = "Hallo\nBcc: eve@example.com"
    with pytest.raises(ValueError):
        build_email("Portal <no-reply@business.example>", recipient,
                    Rendered(subject=subject, text="t", html="h", language="de"))
