"""Issue 9, part 7: an SMS login attempt that used its tries stays dead (seed 002: the code
is a second factor, five tries per login, not per SMS), and a password may not contain the
username or any part of it (ID-3, seed 001)."""

from __future__ import annotations

import pytest

from tests.support.identity import register_company
from tests.support.polling import eventually

# identity with a one-second resend cool-down, so a test can wait it out.
pytestmark = [pytest.mark.security, pytest.mark.identity_settings(sms_resend_cooldown_seconds=1)]


async def test_a_login_attempt_that_used_its_five_tries_is_not_revived_by_a_resend(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        attempt = (await r.json())["login_attempt_id"]
    sent = await tap.wait_for("identity.login_code.requested.v1", login_attempt_id=attempt)
    right = sent["data"]["code"]
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        async with http.post(f"{url}/v1/sessions/code",
                             json={"login_attempt_id": attempt, "code": wrong}) as r:
            assert r.status == 401

    async def resend_past_the_cool_down():
        async with http.post(f"{url}/v1/sessions/{attempt}/code-resend") as r:
            found = r.status, await r.json()
        return found if found[1].get("type") != "/problems/too-many-requests" else None
    status, problem = await eventually(resend_past_the_cool_down, seconds=10)
    assert status == 429 and problem["type"] == "/problems/too-many-tries"
    assert len(tap.of("identity.login_code.requested.v1", login_attempt_id=attempt)) == 1
    # Not even the code that was sent finishes this login any more.
    async with http.post(f"{url}/v1/sessions/code",
                         json={"login_attempt_id": attempt, "code": right}) as r:
        assert r.status == 429 and (await r.json())["type"] == "/problems/too-many-tries"


async def requested_account(http, url, tap) -> tuple[str, str]:
    """ID-2: an account requested by an administrator: (email, activation code)."""
    admin = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/users", headers=admin.auth, json={
            "email": "kmwzmh@example.com", "first_name": "Béla", "surname": "Kovács",
            "role": "user", "onboarding": "activation_code"}) as r:
        user = await r.json()
        assert r.status == 201, user
    issued = await tap.wait_for("identity.activation_code.issued.v1", user_id=user["user_id"])
    return user["email"], issued["data"]["code"]


@pytest.mark.parametrize("password", ["ab_cd_kmwzmh1", "AB_CD_KMWZMH12!", "Xy!wzmh2024"])
async def test_a_password_with_any_four_consecutive_characters_of_the_username_is_refused(
        identity, password):
    """Seed 001: "Gleicht nicht dem Benutzernamen oder einem Teil davon"; ab_cd_kmwzmh1 was
    accepted for the username ab_cd_kmwzmh12."""
    url, _, tap, http = identity
    email, code = await requested_account(http, url, tap)

    async def activate(password: str) -> tuple[int, dict]:
        async with http.post(f"{url}/v1/activations", json={
                "email": email, "code": code, "username": "ab_cd_kmwzmh12",
                "password": password}) as r:
            return r.status, await r.json()
    status, problem = await activate(password)
    assert status == 422, problem
    assert [e["rule"] for e in problem["errors"]] == ["not_username"]
    assert (await activate("Eigenes!Pass58"))[0] == 200
