"""Issue 9, part 3: a stolen access token is not enough to take over what guards the account
— the login phone, a login email, the username, the password need the current password, and a
new login phone counts only once confirmed with a code sent to it."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company

pytestmark = pytest.mark.security
OLD, NEW = "+36301234567", "+36709876543"
CODE_SENT = "identity.phone_verification.requested.v1"


async def call(http: aiohttp.ClientSession, method: str, url: str, auth: dict,
               body: dict) -> tuple[int, dict]:
    async with http.request(method, url, json=body, headers=auth) as r:
        return r.status, (await r.json() if r.content_type.endswith("json") else {})


async def login_code_goes_to(http, url, tap, login: str, password: str) -> str:
    """The phone the next password login sends its SMS code to."""
    async with http.post(f"{url}/v1/sessions", json={"login": login, "password": password}) as r:
        step = await r.json()
        assert r.status == 200 and step["status"] == "code_required", step
    sent = await tap.wait_for("identity.login_code.requested.v1",
                              login_attempt_id=step["login_attempt_id"])
    return sent["data"]["phone"]


def fields(problem: dict) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in problem.get("errors", [])}


async def test_a_stolen_token_can_not_move_the_login_codes_to_another_phone(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=OLD)
    path = f"{url}/v1/me/contact-details"
    status, problem = await call(http, "PATCH", path, account.auth, {"phone": NEW})
    assert status == 422 and ("current_password", "required") in fields(problem)
    status, problem = await call(http, "PATCH", path, account.auth,
                                 {"phone": NEW, "current_password": "Geraten!Pass1"})
    assert status == 403 and problem["type"] == "/problems/current-password-wrong"
    assert ("current_password", "matches_current_password") in fields(problem)
    assert not tap.of(CODE_SENT)
    assert await login_code_goes_to(http, url, tap, account.email, account.password) == OLD


async def test_a_new_login_phone_gets_codes_only_once_confirmed_and_the_old_one_is_told(
        identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=OLD)
    status, me = await call(http, "PATCH", f"{url}/v1/me/contact-details", account.auth,
                            {"phone": NEW, "current_password": account.password})
    assert status == 200 and me["phone"] == OLD and me["phone_awaiting_confirmation"] == NEW
    sent = await tap.wait_for(CODE_SENT, user_id=account.user_id)
    assert sent["data"]["phone"] == NEW
    assert await login_code_goes_to(http, url, tap, account.email, account.password) == OLD

    status, me = await call(http, "POST", f"{url}/v1/me/phone-verification", account.auth,
                            {"code": sent["data"]["code"]})
    assert status == 200 and me["phone"] == NEW and me["phone_awaiting_confirmation"] is None
    changed = await tap.wait_for("identity.phone.changed.v1", user_id=account.user_id)
    assert (changed["data"]["old_phone"], changed["data"]["new_phone"]) == (OLD, NEW)
    assert changed["data"]["email"] == account.email
    assert await login_code_goes_to(http, url, tap, account.email, account.password) == NEW


async def test_the_phone_code_allows_five_tries_then_even_the_right_code_is_refused(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=OLD)
    await call(http, "PATCH", f"{url}/v1/me/contact-details", account.auth,
               {"phone": NEW, "current_password": account.password})
    code = (await tap.wait_for(CODE_SENT, user_id=account.user_id))["data"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    path = f"{url}/v1/me/phone-verification"
    for left in (4, 3, 2, 1, 0):
        status, problem = await call(http, "POST", path, account.auth, {"code": wrong})
        assert status == 422 and problem["tries_left"] == left
        assert ("code", "matches_sent_code") in fields(problem)
    status, problem = await call(http, "POST", path, account.auth, {"code": code})
    assert status == 429 and problem["type"] == "/problems/too-many-tries"
    async with http.get(f"{url}/v1/me", headers=account.auth) as r:
        assert (await r.json())["phone"] == OLD


async def test_an_expired_phone_code_is_refused(mongo_url, amqp_url, bus_prefix, unique):
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, phone_verification_seconds=0) as (url, _),
                aiohttp.ClientSession() as http):
        account = await register_company(http, url, tap, phone=OLD)
        await call(http, "PATCH", f"{url}/v1/me/contact-details", account.auth,
                   {"phone": NEW, "current_password": account.password})
        code = (await tap.wait_for(CODE_SENT, user_id=account.user_id))["data"]["code"]
        status, problem = await call(http, "POST", f"{url}/v1/me/phone-verification",
                                     account.auth, {"code": code})
        assert status == 410 and problem["type"] == "/problems/code-expired"


async def test_username_login_email_and_password_changes_need_the_current_password(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    changes = [("PUT", "/v1/me/username", {"username": "mallory.m"}),
               ("POST", "/v1/me/emails", {"email": "mallory@example.com"}),
               ("POST", "/v1/me/password", {"new_password": "Neues!Pass77",
                                            "new_password_repeat": "Neues!Pass77"})]
    for method, path, body in changes:
        status, problem = await call(http, method, f"{url}{path}", account.auth, body)
        assert status == 422 and "current_password" in {e["field"] for e in problem["errors"]}
        status, problem = await call(http, method, f"{url}{path}", account.auth,
                                     {**body, "current_password": "Geraten!Pass1"})
        assert status == 403, path
        assert ("current_password", "matches_current_password") in fields(problem)
    assert not tap.of("identity.email_change.requested.v1")
    assert not tap.of("identity.username.changed.v1")


async def test_guessing_the_current_password_locks_the_account_like_failed_logins(identity):
    """Five wrong current passwords (the login lock's limit) and the real owner's correct
    password no longer logs in either, for the lock's duration."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    for _ in range(5):
        status, _ = await call(http, "PUT", f"{url}/v1/me/username", account.auth,
                               {"username": "mallory.m", "current_password": "Geraten!Pass1"})
        assert status == 403
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        assert r.status == 401
    # And the right password through the step-up gets the same refusal while locked.
    status, _ = await call(http, "PUT", f"{url}/v1/me/username", account.auth,
                           {"username": "anna.m", "current_password": account.password})
    assert status == 403

