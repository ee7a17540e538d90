"""Issue 9, parts 4, 5 and 6 for contracts: linking a customer number tells a caller without the
letter nothing about the number, and a company guessing locks out only itself.

contracts runs in this process on a free port with the real RabbitMQ and the MongoDB wire
server (the integration tier's harness); the CRM is played by publishing its events.
"""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from shared.app_keys import METRICS
from tests.support.contracts import (
    Caller,
    ContractsUnderTest,
    new_number,
)

MAX_ATTEMPTS = 3      # wrong passwords per (number, company)
ALERT_AFTER = 5       # wrong passwords per number, all companies together
PER_HOUR = 10         # wrong attempts per company per hour, across numbers
pytestmark = [pytest.mark.security, pytest.mark.contracts_settings(
    otp_max_attempts=MAX_ATTEMPTS, otp_alert_after_attempts=ALERT_AFTER,
    link_attempts_per_company_per_hour=PER_HOUR)]

# Headers that differ between any two responses whatever they answer.
PER_RESPONSE = {"date", "x-correlation-id", "traceparent", "server"}


async def _link(contracts: ContractsUnderTest, caller: Caller, number: str,
                password: str) -> tuple[int, dict, dict[str, str]]:
    """The whole answer: status, body and headers."""
    async with contracts.http.post(contracts.server.make_url("/v1/links"), json={
            "customer_number": number, "one_time_password": password},
            headers={"Authorization": f"Bearer {caller.token}"}) as r:
        return r.status, await r.json(content_type=None), dict(r.headers)


def _shape(status: int, body: dict, headers: dict[str, str], *,
           moving: frozenset[str] = frozenset()) -> tuple:
    """What an attacker compares: status, problem type, body members and their values (but
    the per-request ones), headers and their values (but the per-response ones and the
    ``moving`` ones, which only need to be there)."""
    values = {k: v for k, v in body.items() if k != "correlation_id"}
    kept = {k.lower(): None if k.lower() in moving else v for k, v in headers.items()
            if k.lower() not in PER_RESPONSE}
    return status, body.get("type"), sorted(body), values, kept


def _alerts(contracts: ContractsUnderTest) -> float:
    return contracts.app[METRICS].registry.get_sample_value(
        "bap_customer_number_guessing_alerts_total") or 0


async def test_an_unknown_number_and_a_wrong_password_get_the_same_answer_until_both_lock(
        contracts):
    """Part 4: status, problem type, body members, headers and the counting up to the lock
    are the same, so nobody learns which customer numbers exist."""
    known = new_number()
    await contracts.issue_number(known)
    unknown = str(int(known) + 1) if int(known) < 9_999_999_999 else str(int(known) - 1)
    guesser = await contracts.company("Rater GmbH")

    for _ in range(MAX_ATTEMPTS + 1):
        a = await _link(contracts, guesser, known, "WRONG2345678")
        b = await _link(contracts, guesser, unknown, "WRONG2345678")
        a_shape, b_shape = _shape(*a), _shape(*b)
        assert a_shape[0] in (422, 429), a
        # The instance member names the route, never the number.
        assert a_shape == b_shape
    assert a[0] == 429 and a[1]["type"] == "/problems/one-time-password-locked"


async def test_a_company_that_used_up_its_tries_locks_only_itself(contracts):
    """Part 5: a company that only knows the number and guesses is locked out, even with the
    right password afterwards; the holder's company still links with the letter's password."""
    number = new_number()
    password = await contracts.issue_number(number)
    guesser = await contracts.company("Rater GmbH")
    holder = await contracts.company("Muster GmbH")

    for left in range(MAX_ATTEMPTS - 1, -1, -1):
        status, body, _ = await _link(contracts, guesser, number, f"GUESS{left:07d}")
        assert status == 422 and body["attempts_left"] == left
    status, body, _ = await _link(contracts, guesser, number, password)
    assert status == 429 and body["type"] == "/problems/one-time-password-locked"

    status, link, _ = await _link(contracts, holder, number, password)
    assert status == 201, link
    assert link["customer_number"] == number and link["link_type"] == "holder"


async def test_many_companies_guessing_one_number_alert_support_and_lock_out_no_holder(
        contracts):
    """Part 5: wrong passwords from several companies together past the ceiling raise the
    support alert (a metric and a warning without any password in it); the holder links."""
    number = new_number()
    password = await contracts.issue_number(number)
    guessers = [await contracts.company(f"Rater {i} GmbH") for i in range(2)]
    holder = await contracts.company("Muster GmbH")
    before = _alerts(contracts)

    guesses = [f"GUESS{i:07d}" for i in range(MAX_ATTEMPTS)]
    with capture_logs() as logs:
        for guesser in guessers:
            for guess in guesses:
                status, _, _ = await _link(contracts, guesser, number, guess)
                assert status == 422
    assert 2 * MAX_ATTEMPTS >= ALERT_AFTER
    assert _alerts(contracts) == before + 1
    warnings = [e for e in logs if e.get("log_level") == "warning"
                and e.get("customer_number") == number]
    assert len(warnings) == 1
    assert not any(g in repr(warnings) for g in guesses) and password not in repr(warnings)

    status, link, _ = await _link(contracts, holder, number, password)
    assert status == 201, link


async def test_a_company_guessing_many_numbers_is_refused_with_retry_after_known_or_not(
        contracts):
    """Part 5: wrong attempts per company per hour across numbers are limited; once used up,
    a known and an unknown number get the same 429 with Retry-After, and the refusals are
    counted in /metrics."""
    known = new_number()
    password = await contracts.issue_number(known)
    guesser = await contracts.company("Rater GmbH")
    # Every guess at another number: the per-number lock never comes into play.
    for _ in range(PER_HOUR):
        status, body, _ = await _link(contracts, guesser, new_number(), "WRONG2345678")
        assert status == 422, body

    answers = [await _link(contracts, guesser, number, secret)
               for number, secret in ((known, "WRONG2345678"), (new_number(), "WRONG2345678"),
                                      (known, password))]
    for status, body, headers in answers:
        assert status == 429 and body["type"] == "/problems/rate-limited"
        assert body["limit"] == "link-attempts-per-company"
        assert 1 <= int(headers["Retry-After"]) <= 3600
    # Retry-After counts down to the window's end: present in both, its value may move.
    moving = frozenset({"retry-after"})
    assert _shape(*answers[0], moving=moving) == _shape(*answers[1], moving=moving)
    refused = contracts.app[METRICS].registry.get_sample_value(
        "bap_rate_limit_refusals_total", {"limit": "link-attempts-per-company"})
    assert refused == 3

    # Another company is not affected.
    holder = await contracts.company("Muster GmbH")
    status, link, _ = await _link(contracts, holder, known, password)
    assert status == 201, link
