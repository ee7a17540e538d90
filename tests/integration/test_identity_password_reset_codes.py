"""Forgotten password by one-time code (ID-8, seed 002: "…az adott felhasználóhoz tartozó
e-mail címre vagy telefonszámra kiküldött egyszeri azonosító kód segítségével…"): the code goes
by SMS to the account's phone or to its email address; with it and the new password twice the
password is set. Same answer for unknown login ids, single use, expiry, a few tries, and the
"password changed" notice, like the link."""

from __future__ import annotations

import aiohttp
import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import identity_running, log_in, register_company
from tests.support.polling import eventually
from tests.support.services import consumed, publish

pytestmark = [pytest.mark.integration, pytest.mark.identity_settings(password_reset_code_tries=3)]
ASKED = "identity.password_reset_code.asked.v1"
SENT = "identity.password_reset_code.requested.v1"
NEW = "Neues!Pass77"


async def ask(http, url, login: str, channel: str) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/password-reset-codes",
                         json={"login": login, "channel": channel}) as r:
        return r.status, await r.json()


async def complete(http, url, reset_id: str, code: str, password: str = NEW,
                   repeat: str | None = None) -> tuple[int, dict | None]:
    async with http.post(f"{url}/v1/password-reset-codes/completion", json={
            "reset_id": reset_id, "code": code, "new_password": password,
            "new_password_repeat": repeat or password}) as r:
        return r.status, (await r.json() if r.status != 204 else None)


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


async def resolved(app, reset_id: str) -> dict:
    resets = unit(app, Identity).store.password_resets.collection

    async def done():
        doc = await resets.find_one({"_id": reset_id})
        return doc if doc and doc["status"] != "queued" else None
    return await eventually(done)


async def test_seed002_forgotten_password_is_set_with_a_code_sent_by_sms(identity):
    """The code goes to the account's phone; with it and the new password twice the password
    is set, every session ends, the old password stops working, a notice follows."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    status, asked = await ask(http, url, account.email, "sms")
    assert status == 202, asked
    sent = await tap.wait_for(SENT, user_id=account.user_id)
    assert (sent["data"]["channel"], sent["data"]["phone"]) == ("sms", "+36301234567")
    code = sent["data"]["code"]
    assert len(code) == 8 and code.isdigit()

    status, problem = await complete(http, url, asked["reset_id"], code, "kurz", "kurz")
    assert status == 422 and problem["type"] == "/problems/password-policy"
    status, _ = await complete(http, url, asked["reset_id"], code)
    assert status == 204
    status, problem = await complete(http, url, asked["reset_id"], code)
    assert status == 410 and problem["type"] == "/problems/code-expired"

    await tap.wait_for("identity.password.changed.v1", user_id=account.user_id)
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        assert r.status == 401
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        assert r.status == 401
    assert (await log_in(http, url, tap, account.email, NEW))["access_token"]


async def test_seed002_code_by_email_goes_to_the_accounts_address(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    status, asked = await ask(http, url, account.email.upper(), "email")
    assert status == 202
    sent = await tap.wait_for(SENT, user_id=account.user_id)
    assert (sent["data"]["channel"], sent["data"]["email"]) == ("email", account.email)
    assert sent["data"]["phone"] is None
    status, _ = await complete(http, url, asked["reset_id"], sent["data"]["code"])
    assert status == 204


async def test_seed002_unknown_login_ids_get_the_same_answers_and_no_code(identity):
    """No enumeration: the request and a guessed code are answered alike for an account and
    for nobody; nobody gets no code."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    answers, guesses = [], []
    for login in (account.email, "nobody@example.com"):
        status, asked = await ask(http, url, login, "sms")
        answers.append((status, asked["detail"], len(asked["reset_id"])))
        await resolved(app, asked["reset_id"])
        status, problem = await complete(http, url, asked["reset_id"], "00000000")
        guesses.append((status, problem["type"], problem["tries_left"],
                        problem["errors"]))
    assert answers[0] == answers[1]
    sent = await tap.wait_for(SENT, user_id=account.user_id)
    if sent["data"]["code"] == "00000000":  # one chance in 10^8
        pytest.skip("the guess was the code")
    assert guesses[0] == guesses[1] == (422, "/problems/code-incorrect", 2, [
        {"field": "code", "rule": "matches_sent_code", "message": "the code is not correct"}])
    assert len(tap.of(SENT)) == 1


async def test_seed002_a_code_allows_a_few_tries_then_only_a_new_code_helps(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    _, asked = await ask(http, url, account.email, "email")
    code = (await tap.wait_for(SENT, user_id=account.user_id))["data"]["code"]
    for left in (2, 1, 0):
        status, problem = await complete(http, url, asked["reset_id"], wrong(code))
        assert (status, problem["tries_left"]) == (422, left)
    status, problem = await complete(http, url, asked["reset_id"], code)
    assert status == 429 and problem["type"] == "/problems/too-many-tries"
    _, again = await ask(http, url, account.email, "email")
    sent = await eventually(lambda: tap.of(SENT, user_id=account.user_id)[1:])
    status, _ = await complete(http, url, again["reset_id"], sent[0]["data"]["code"])
    assert status == 204


async def test_seed002_a_new_code_or_link_ends_the_older_code(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    _, first = await ask(http, url, account.email, "sms")
    old = (await tap.wait_for(SENT, user_id=account.user_id))["data"]["code"]
    await http.post(f"{url}/v1/password-resets", json={"email": account.email})
    await tap.wait_for("identity.password_reset.requested.v1", user_id=account.user_id)
    status, problem = await complete(http, url, first["reset_id"], old)
    assert status == 410 and problem["type"] == "/problems/code-expired"


async def test_seed002_expired_code_is_refused_and_says_how_long_codes_hold(
        mongo_url, amqp_url, bus_prefix, unique):
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, password_reset_minutes=0) as (url, _),
                aiohttp.ClientSession() as http):
        account = await register_company(http, url, tap)
        _, asked = await ask(http, url, account.email, "sms")
        code = (await tap.wait_for(SENT, user_id=account.user_id))["data"]["code"]
        status, problem = await complete(http, url, asked["reset_id"], code)
    assert status == 410 and problem["type"] == "/problems/code-expired"
    assert "has expired" in problem["detail"]


async def test_seed002_reset_codes_per_login_id_and_hour_are_limited_silently(
        mongo_url, amqp_url, bus_prefix, unique):
    """Past the hourly allowance the answer is the same 202 and nothing is sent."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, password_reset_emails_per_hour=2
    ) as (url, app), aiohttp.ClientSession() as http:
        account = await register_company(http, url, tap)
        ids = []
        for _ in range(3):
            status, asked = await ask(http, url, account.email, "sms")
            assert status == 202
            ids.append(asked["reset_id"])
        states = [(await resolved(app, i))["status"] for i in ids]
        await eventually(lambda: len(tap.of(SENT, user_id=account.user_id)) >= 2)
    assert states[2] == "refused" and "open" in states[:2]
    assert len(tap.of(SENT, user_id=account.user_id)) == 2


async def test_seed002_reset_code_asked_twice_sends_one_code(identity, amqp_url, bus_prefix):
    """identity's own queue: the request event delivered again has no second effect."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    _, asked = await ask(http, url, account.email, "sms")
    await tap.wait_for(SENT, user_id=account.user_id)
    event = await tap.wait_for(ASKED, request_id=asked["reset_id"])
    await publish(amqp_url, bus_prefix, event)
    await eventually(lambda: consumed(app, ASKED) >= 2)
    assert len(tap.of(SENT, user_id=account.user_id)) == 1
    assert (await resolved(app, asked["reset_id"]))["status"] == "open"
