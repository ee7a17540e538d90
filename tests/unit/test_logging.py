"""Log lines: one JSON object each, carrying the correlation id, never carrying a secret."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel

from shared.auth import Principal
from shared.logging import REDACTED, correlation_id, get_logger

pytestmark = pytest.mark.unit

JWT = ("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEiLCJjaWQiOiJjLTEifQ."
       "c2lnbmF0dXJlLWJ5dGVzLWhlcmU")
SECRET_KEYS = ["password", "new_password", "token", "access_token", "refresh_token", "code",
               "otp", "verification_url", "link", "authorization"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_fields_are_redacted_at_the_top(log_lines, key):
    get_logger("test").info("user acted", **{key: "s3cr3t-value"})
    [line] = log_lines()
    assert line[key] == REDACTED
    assert "s3cr3t-value" not in json.dumps(line)


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_fields_are_redacted_at_any_depth(log_lines, key):
    get_logger("test").info("request", body={"user": {"credentials": [{key: "s3cr3t-value"}]},
                                             "steps": [{"form": {key: "s3cr3t-value"}}]})
    [line] = log_lines()
    assert line["body"]["steps"][0]["form"][key] == REDACTED
    assert "s3cr3t-value" not in json.dumps(line)


def test_secret_fields_spelled_in_camel_or_header_case_are_redacted(log_lines):
    get_logger("test").info("call", headers={"Authorization": "Basic dXNlcjpwYXNz",
                                             "X-Api-Key": "k-123"}, newPassword="p-123")
    [line] = log_lines()
    assert line["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED}
    assert line["newPassword"] == REDACTED


@pytest.mark.parametrize("text, secret", [
    (f"calling billing with Authorization: Bearer {JWT}", JWT),
    (f"token was {JWT} for the portal", JWT),
    ("sent https://portal.example.com/register/verify?token=Zx9-secret&lang=de to the user",
     "Zx9-secret"),
    ("link https://portal.example.com/reset#otp=4711 expired", "4711"),
    ("connecting to amqp://guest:hunter2@rabbit:5672/", "hunter2"),
    ("login failed: password=hunter2, user anna", "hunter2"),
])
def test_secrets_inside_free_text_are_redacted(log_lines, text, secret):
    get_logger("test").warning(text, detail=text)
    [line] = log_lines()
    assert secret not in json.dumps(line)
    assert REDACTED in line["event"] and REDACTED in line["detail"]


def test_email_addresses_and_company_names_are_kept(log_lines):
    get_logger("test").info("company registered by anna.muster@example.com",
                            email="anna.muster@example.com", company_name="Muster GmbH",
                            company_id="c-1", postcode="1051", event_type="x.y.v1",
                            docs="https://example.com/guide")
    [line] = log_lines()
    assert line["event"] == "company registered by anna.muster@example.com"
    assert line["email"] == "anna.muster@example.com"
    assert line["company_name"] == "Muster GmbH"
    assert line["company_id"] == "c-1"
    assert line["postcode"] == "1051"
    assert line["docs"] == "https://example.com/guide"


def test_a_logged_model_is_redacted_field_by_field(log_lines):
    class PasswordLogin(BaseModel):
        login: str
        password: str

    get_logger("test").info("login", body=PasswordLogin(login="anna", password="hunter2"))
    [line] = log_lines()
    assert line["body"] == {"login": "anna", "password": REDACTED}


def test_each_line_carries_the_correlation_id_of_its_context(log_lines):
    token = correlation_id.set("req-1")
    try:
        get_logger("test").info("first")
        get_logger("test").warning("second")
    finally:
        correlation_id.reset(token)
    get_logger("test").info("outside")
    first, second, outside = log_lines()
    assert first["correlation_id"] == second["correlation_id"] == "req-1"
    assert "correlation_id" not in outside


def test_lines_name_service_level_logger_and_time(log_lines):
    get_logger("http").info("started")
    [line] = log_lines()
    assert line["service"] == "unit-test"
    assert line["level"] == "info"
    assert line["logger"] == "http"
    assert line["timestamp"].endswith("Z")


def test_standard_library_records_are_redacted_and_correlated_too(log_lines):
    token = correlation_id.set("req-2")
    try:
        logging.getLogger("aiohttp.client").warning(
            "GET %s failed", "https://portal.example.com/invite/accept?code=998877")
    finally:
        correlation_id.reset(token)
    [line] = log_lines()
    assert "998877" not in json.dumps(line)
    assert line["event"] == f"GET {REDACTED} failed"
    assert line["logger"] == "aiohttp.client"
    assert line["correlation_id"] == "req-2"


def test_exception_tracebacks_are_redacted(log_lines):
    try:
        raise ValueError(f"bad header Bearer {JWT}")
    except ValueError:
        get_logger("test").exception("request failed")
    [line] = log_lines()
    assert "ValueError" in line["exception"]
    assert JWT not in json.dumps(line)


def test_output_is_one_json_object_per_line(log_lines):
    # log_lines parses each physical line with json.loads: a message that broke a line
    # (newlines, quotes, non-ASCII) would fail here.
    log = get_logger("test")
    log.info("multi\nline message", payload={"nested": ["a", 1, None, True]})
    log.warning("quotes \" and unicode é")
    logging.getLogger("lib").error("stdlib\nrecord")
    lines = log_lines()
    assert [line["event"] for line in lines] == [
        "multi\nline message", "quotes \" and unicode é", "stdlib\nrecord"]
    assert lines[0]["payload"] == {"nested": ["a", 1, None, True]}


def test_lines_below_the_configured_level_are_dropped(log_lines):
    get_logger("test").debug("noise")
    logging.getLogger("lib").info("library noise")
    get_logger("test").info("kept")
    assert [line["event"] for line in log_lines()] == ["kept"]


def test_a_logged_caller_is_redacted_field_by_field(log_lines):
    caller = Principal(subject="user-1", kind="user", company_id="c-1",
                       claims={"sub": "user-1", "refresh_token": "r-123"})
    get_logger("test").info("acting", caller=caller)
    [line] = log_lines()
    assert line["caller"]["company_id"] == "c-1"
    assert line["caller"]["claims"]["refresh_token"] == REDACTED
