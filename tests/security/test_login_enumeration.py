"""Issue 9, part 4: the unauthenticated entry points of login, activation and registration
answer an existing and an unknown subject alike — status, body, headers, tries and limits."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.identity import register_company
from tests.support.polling import eventually

# identity with a one-second resend cool-down, so a test can wait it out.
pytestmark = [pytest.mark.security, pytest.mark.identity_settings(sms_resend_cooldown_seconds=1)]
KNOWN, UNKNOWN = "+36301234567", "+36209998877"
# Headers that differ between any two responses, whoever asks.
VARYING = {"date", "content-length"}


async def answer(response: aiohttp.ClientResponse) -> tuple:
    """What a caller can compare between two answers: status, header names, whether a
    Retry-After came, and the body without the parts that name the request itself."""
    body = await response.json()
    for own in ("instance", "correlation_id", "login_attempt_id", "phone_hint"):
        body.pop(own, None)
    if "retry_after" in body:  # its value depends on the clock, not on the subject
        body["retry_after"] = "given"
    headers = sorted(h.lower() for h in response.headers if h.lower() not in VARYING)
    return response.status, headers, "Retry-After" in response.headers, body


async def start_phone_login(http, url, phone) -> tuple[tuple, str]:
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": phone}) as r:
        body = await r.json()
        assert r.status == 200, body
        return (r.status, body["status"], body["phone_hint"][:3]), body["login_attempt_id"]


async def enter_code(http, url, attempt, code) -> tuple:
    async with http.post(f"{url}/v1/sessions/code",
                         json={"login_attempt_id": attempt, "code": code}) as r:
        return await answer(r)


async def resend(http, url, attempt) -> tuple:
    async with http.post(f"{url}/v1/sessions/{attempt}/code-resend") as r:
        return await answer(r)


async def test_a_wrong_login_code_counts_tries_alike_for_known_and_unknown_numbers(identity):
    url, _, tap, http = identity
    await register_company(http, url, tap, phone=KNOWN)
    known_start, known = await start_phone_login(http, url, KNOWN)
    unknown_start, unknown = await start_phone_login(http, url, UNKNOWN)
    assert known_start[:2] == unknown_start[:2] == (200, "code_required")
    sent = await tap.wait_for("identity.login_code.requested.v1", login_attempt_id=known)
    wrong = "000000" if sent["data"]["code"] != "000000" else "111111"
    known_answers = [await enter_code(http, url, known, wrong) for _ in range(6)]
    unknown_answers = [await enter_code(http, url, unknown, wrong) for _ in range(6)]
    assert unknown_answers == known_answers
    assert [a[0] for a in known_answers] == [401] * 5 + [429]
    assert [a[3].get("tries_left") for a in known_answers[:5]] == [4, 3, 2, 1, 0]
    assert known_answers[5][3]["type"] == "/problems/too-many-tries"


async def test_code_resend_answers_alike_for_known_and_unknown_numbers(identity):
    url, _, tap, http = identity
    await register_company(http, url, tap, phone=KNOWN)
    _, known = await start_phone_login(http, url, KNOWN)
    _, unknown = await start_phone_login(http, url, UNKNOWN)
    # Within the cool-down: the same 429 with Retry-After for both.
    early_known, early_unknown = await resend(http, url, known), await resend(http, url, unknown)
    assert early_known == early_unknown and early_known[0] == 429 and early_known[2]

    async def after_cool_down(attempt):
        found = await resend(http, url, attempt)
        return found if found[0] != 429 else None
    assert await eventually(lambda: after_cool_down(known), seconds=10) == \
        await eventually(lambda: after_cool_down(unknown), seconds=10)
    # Only the real account got a second code; the unknown number got none at all.
    await eventually(lambda: len(tap.of("identity.login_code.requested.v1",
                                        login_attempt_id=known)) == 2)
    assert not tap.of("identity.login_code.requested.v1", phone=UNKNOWN)


async def test_the_hourly_sms_limit_of_a_number_holds_for_unknown_numbers_too(identity):
    """SMS pumping: a number gets at most 5 codes an hour, and the 429 that says so comes
    for an unknown number exactly as for a known one."""
    url, _, tap, http = identity
    await register_company(http, url, tap, phone=KNOWN)
    seen = {}
    for phone in (KNOWN, UNKNOWN):
        statuses = []
        for _ in range(6):
            async with http.post(f"{url}/v1/sessions/phone", json={"phone": phone}) as r:
                statuses.append(r.status)
                last = await answer(r)
        assert statuses == [200] * 5 + [429], phone
        seen[phone] = last
    assert seen[KNOWN] == seen[UNKNOWN]
    assert seen[KNOWN][2] and seen[KNOWN][3]["limit"] == "phone-login-sms-per-phone"


async def requested_account(http, url, tap) -> dict:
    """ID-2: an administrator requests an account; it waits for activation with its code."""
    admin = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/users", headers=admin.auth, json={
            "email": "bela.kovacs@example.com", "first_name": "Béla", "surname": "Kovács",
            "role": "user", "onboarding": "activation_code"}) as r:
        user = await r.json()
        assert r.status == 201, user
    await tap.wait_for("identity.activation_code.issued.v1", user_id=user["user_id"])
    return user


async def test_activation_counts_tries_alike_for_waiting_accounts_and_unknown_addresses(
        identity):
    url, _, tap, http = identity
    user = await requested_account(http, url, tap)

    async def activate(email: str) -> tuple:
        async with http.post(f"{url}/v1/activations", json={
                "email": email, "code": "WRONGCODE2", "username": "bela.kovacs",
                "password": "Eigenes!Pass58"}) as r:
            return await answer(r)
    known = [await activate(user["email"]) for _ in range(6)]
    unknown = [await activate("nobody@example.com") for _ in range(6)]
    assert unknown == known
    assert [a[3].get("tries_left") for a in known] == [4, 3, 2, 1, 0, None]
    assert known[5][0] == 429 and known[5][3]["type"] == "/problems/too-many-tries"
    # A new code gives a waiting account its tries back; an unknown address the same.
    for email in (user["email"], "nobody@example.com"):
        async with http.post(f"{url}/v1/activations/code-requests", json={"email": email}) as r:
            assert r.status == 202
    assert await activate(user["email"]) == await activate("nobody@example.com")
    assert (await activate("nobody@example.com"))[3]["tries_left"] == 3


async def test_registration_and_activation_code_requests_answer_alike_for_any_address(
        identity):
    """Kept as it was: starting a registration and asking for an activation code say
    nothing about the address (the first already answered alike before issue 9)."""
    url, _, tap, http = identity
    user = await requested_account(http, url, tap)
    admin_email = (await tap.wait_for("identity.company.registered.v1"))["data"]["admin_email"]
    answers = []
    for email in (admin_email, "nobody-at-all@example.com"):
        async with http.post(f"{url}/v1/registrations", json={"email": email}) as r:
            answers.append(await answer(r))
    assert answers[0] == answers[1] and answers[0][0] == 202
    answers = []
    for email in (user["email"], "nobody-at-all@example.com"):
        async with http.post(f"{url}/v1/activations/code-requests", json={"email": email}) as r:
            answers.append(await answer(r))
    assert answers[0] == answers[1] and answers[0][0] == 202
