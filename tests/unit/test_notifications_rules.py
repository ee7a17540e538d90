"""Rules of notifications without I/O: failover of a channel, how recipients are kept."""

from __future__ import annotations

import pytest

from services.notifications.domain.breaker import CircuitBreaker
from services.notifications.domain.recipients import (
    InvalidRecipient,
    mask,
    normalize,
    recipient_key,
)

pytestmark = pytest.mark.unit


def test_secondary_takes_over_after_consecutive_failures_of_the_primary_within_the_window():
    """NOT-3 failover."""
    breaker = CircuitBreaker(threshold=3, window=60, cooldown=30)
    breaker.failed(0)
    breaker.failed(1)
    assert not breaker.use_secondary(2)
    breaker.failed(2)
    assert breaker.use_secondary(3)


def test_failures_spread_beyond_the_window_do_not_switch_providers():
    breaker = CircuitBreaker(threshold=3, window=10, cooldown=30)
    for t in (0, 20, 40):
        breaker.failed(t)
    assert not breaker.use_secondary(41)


def test_primary_gets_another_chance_after_the_cooldown_and_one_failure_reopens():
    breaker = CircuitBreaker(threshold=2, window=60, cooldown=30)
    breaker.failed(0)
    breaker.failed(1)
    assert breaker.use_secondary(10)
    assert not breaker.use_secondary(31)  # half-open: the primary is tried
    breaker.failed(32)
    assert breaker.use_secondary(33)
    assert not breaker.use_secondary(63)
    breaker.succeeded()
    assert not breaker.use_secondary(64)


def test_phone_numbers_in_national_and_international_form_are_one_recipient():
    """ID-6 formats; the delivery log finds a recipient however the number was typed."""
    assert normalize("sms", "301234567") == "+36301234567"
    assert normalize("sms", "06 30 123 4567") == "+36301234567"
    assert normalize("sms", "+36 30 123 4567") == "+36301234567"
    assert recipient_key(normalize("email", " Anna@Example.com ")) == recipient_key(
        "anna@example.com")
    with pytest.raises(InvalidRecipient):
        normalize("sms", "12")


def test_the_log_shows_recipients_masked():
    assert mask("email", "anna@example.com") == "a***@example.com"
    assert "1234" not in mask("sms", "+36301234567")
    assert len(recipient_key("anna@example.com")) == 32
