"""Logging in and staying logged in (ID-4, ID-5, ID-6, ID-14), tokens and brute force."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import identity_running, log_in, register_company
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration,
              pytest.mark.identity_settings(
                  login_failures_before_lock=5, sms_per_phone_per_hour=5,
                  sms_resend_cooldown_seconds=3)]


async def set_sms_step(http, url, account, on: bool) -> None:
    async with http.patch(f"{url}/v1/company/settings", json={"sms_login_step": on},
                          headers=account.auth) as r:
        assert r.status == 200, await r.text()


async def test_login_by_email_sends_an_sms_code_and_the_code_completes_it(identity):
    """ID-4 + ID-5: password first, then the 6-digit code sent to the user's phone."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        step = await r.json()
    assert step["status"] == "code_required" and step["access_token"] is None
    assert step["phone_hint"].startswith("+36") and step["phone_hint"].endswith("67")
    sent = await tap.wait_for("identity.login_code.requested.v1",
                              login_attempt_id=step["login_attempt_id"])
    assert sent["data"]["phone"] == "+36301234567" and len(sent["data"]["code"]) == 6
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": step["login_attempt_id"], "code": sent["data"]["code"]}) as r:
        done = await r.json()
    assert r.status == 200 and done["status"] == "authenticated"
    async with http.get(f"{url}/v1/me", headers={
            "Authorization": f"Bearer {done['access_token']}"}) as r:
        assert (await r.json())["email"] == account.email


async def test_second_factor_is_skipped_when_company_turned_sms_off(identity):
    """ID-5: the company administrator can switch the SMS step off."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    await set_sms_step(http, url, account, False)
    body = await log_in(http, url, tap, account.email, account.password)
    assert body["status"] == "authenticated" and body["access_token"]
    assert not tap.of("identity.login_code.requested.v1", user_id=account.user_id)


async def test_sms_code_is_bound_to_its_login_attempt_and_allows_five_tries(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    steps = []
    for _ in range(2):
        async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                         "password": account.password}) as r:
            steps.append(await r.json())
    first = await tap.wait_for("identity.login_code.requested.v1",
                               login_attempt_id=steps[0]["login_attempt_id"])
    # The first attempt's code does not finish the second attempt.
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": steps[1]["login_attempt_id"],
            "code": first["data"]["code"]}) as r:
        assert r.status == 401
    wrong = "000000" if first["data"]["code"] != "000000" else "111111"
    statuses = []
    for _ in range(6):
        async with http.post(f"{url}/v1/sessions/code", json={
                "login_attempt_id": steps[0]["login_attempt_id"], "code": wrong}) as r:
            statuses.append((r.status, (await r.json()).get("tries_left")))
    assert statuses[:5] == [(401, 4), (401, 3), (401, 2), (401, 1), (401, 0)]
    assert statuses[5][0] == 429
    # Even the right code is refused after the tries are used up.
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": steps[0]["login_attempt_id"],
            "code": first["data"]["code"]}) as r:
        assert r.status == 429


async def test_resend_sends_a_new_code_after_the_cool_down_and_the_old_one_stops_working(
        identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        attempt = (await r.json())["login_attempt_id"]
    async with http.post(f"{url}/v1/sessions/{attempt}/code-resend") as r:
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    first = await tap.wait_for("identity.login_code.requested.v1", login_attempt_id=attempt)
    await asyncio.sleep(3.1)
    async with http.post(f"{url}/v1/sessions/{attempt}/code-resend") as r:
        assert r.status == 200

    async def both_codes():
        found = tap.of("identity.login_code.requested.v1", login_attempt_id=attempt)
        return [e["data"]["code"] for e in found] if len(found) >= 2 else None
    codes = await eventually(both_codes)
    if codes[0] != codes[1]:
        async with http.post(f"{url}/v1/sessions/code", json={
                "login_attempt_id": attempt, "code": first["data"]["code"]}) as r:
            assert r.status == 401
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": attempt, "code": codes[1]}) as r:
        assert r.status == 200


async def test_sms_codes_per_phone_number_are_capped_per_hour(identity):
    """SMS pumping: at most N codes an hour go to one number, however they are asked for."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    statuses = []
    for _ in range(7):
        async with http.post(f"{url}/v1/sessions/phone", json={"phone": "301234567"}) as r:
            statuses.append(r.status)
    assert statuses.count(200) == 5 and statuses[5:] == [429, 429]
    await eventually(lambda: len(tap.of("identity.login_code.requested.v1",
                                        user_id=account.user_id)) >= 5)
    await asyncio.sleep(0.5)
    assert len(tap.of("identity.login_code.requested.v1", user_id=account.user_id)) == 5


async def test_login_by_mobile_number_in_national_form_reaches_only_that_numbers_scope(
        identity):
    """ID-6: 301234567 and +36301234567 name the same number; the token has no admin role."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": "301234567"}) as r:
        step = await r.json()
    sent = await tap.wait_for("identity.login_code.requested.v1",
                              login_attempt_id=step["login_attempt_id"])
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": step["login_attempt_id"], "code": sent["data"]["code"]}) as r:
        done = await r.json()
    token = {"Authorization": f"Bearer {done['access_token']}"}
    async with http.get(f"{url}/v1/company/settings", headers=token) as r:
        assert r.status == 403
    async with http.get(f"{url}/v1/me", headers=token) as r:
        assert (await r.json())["user_id"] == account.user_id
    # It can not take over the account: no new email address, no new phone, no password.
    for method, path, body in [("POST", "/v1/me/emails", {"email": "mallory@example.com"}),
                               ("PATCH", "/v1/me/contact-details", {"phone": "+36709876543"}),
                               ("POST", "/v1/me/password", {
                                   "current_password": account.password,
                                   "new_password": "Neues!Pass77",
                                   "new_password_repeat": "Neues!Pass77"})]:
        async with http.request(method, f"{url}{path}", json=body, headers=token) as r:
            assert r.status == 403, path
            assert (await r.json())["type"] == "/problems/phone-login-scope"


async def test_unknown_mobile_number_gets_the_same_answer_and_no_sms(identity):
    url, _, tap, http = identity
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": "+36209998877"}) as r:
        body = await r.json()
    assert r.status == 200 and body["status"] == "code_required"
    await asyncio.sleep(0.5)
    assert not tap.of("identity.login_code.requested.v1", phone="+36209998877")


async def test_unknown_user_wrong_password_and_locked_account_get_the_same_answer(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    answers = []
    for login, password in [("nobody@example.com", "Whatever!1x"),
                            (account.email, "Wrong!pass1")]:
        async with http.post(f"{url}/v1/sessions", json={"login": login,
                                                         "password": password}) as r:
            body = await r.json()
            answers.append((r.status, body["type"], body["detail"]))
    for _ in range(5):
        await http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                    "password": "Wrong!pass1"})
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        body = await r.json()
        answers.append((r.status, body["type"], body["detail"]))
    assert len(set(answers)) == 1 and answers[0][0] == 401


async def test_hundred_parallel_wrong_passwords_are_checked_no_more_than_the_limit(identity):
    """Brute force: failures are counted atomically before the check, so 100 guesses at once
    get exactly 5 password checks, and the account is locked afterwards."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    import services.identity.handlers.sessions as sessions
    checks = 0
    real_verify = sessions.verify_password

    async def counting_verify(stored_hash, password):
        nonlocal checks
        if stored_hash is not None:
            checks += 1
        return await real_verify(stored_hash, password)
    sessions.verify_password = counting_verify
    try:
        async def guess() -> int:
            async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                             "password": "Wrong!pass1"}) as r:
                return r.status
        statuses = await asyncio.gather(*(guess() for _ in range(100)))
    finally:
        sessions.verify_password = real_verify
    assert statuses == [401] * 100
    assert checks == 5
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        assert r.status == 401  # locked, even with the right password
    guard = await unit(app, Identity).store.users.get({"_id": account.user_id})
    assert guard["login_failures"] == 5 and guard["locked_until"] > 0


async def test_refresh_rotates_and_reusing_a_rotated_token_ends_the_whole_family(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        second = await r.json()
    assert r.status == 200 and second["refresh_token"] != account.refresh_token
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        assert r.status == 401
        assert (await r.json())["type"] == "/problems/refresh-token-reused"
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": second["refresh_token"]}) as r:
        assert r.status == 401  # the family is revoked


async def test_logout_ends_the_session(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/sessions/logout",
                         json={"refresh_token": account.refresh_token}) as r:
        assert r.status == 204
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        assert r.status == 401


async def test_access_token_is_eddsa_short_lived_with_company_roles_and_methods(identity):
    import jwt
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["exp"] - claims["iat"] <= 600
    assert claims["cid"] == account.company_id and claims["roles"] == ["company_admin"]
    assert claims["amr"] == ["pwd"] and claims["sub"] == account.user_id
    async with http.get(f"{url}/.well-known/jwks.json") as r:
        assert header["kid"] in [k["kid"] for k in (await r.json())["keys"]]


async def test_failures_per_hour_are_capped_even_when_the_lock_allows_more(
        mongo_url, amqp_url, bus_prefix, unique):
    """At most N failed passwords per account and hour, whatever the lock settings."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, login_failures_before_lock=1000,
            login_failures_per_hour=10) as (url, _), aiohttp.ClientSession() as http:
        account = await register_company(http, url, tap)
        for _ in range(12):
            async with http.post(f"{url}/v1/sessions", json={
                    "login": account.email, "password": "Wrong!pass1"}) as r:
                assert r.status == 401
        async with http.post(f"{url}/v1/sessions", json={
                "login": account.email, "password": account.password}) as r:
            assert r.status == 401
