"""Attack review H2 and M3: SMS allowances a stranger can not spend against a user or a company,
per-client-IP limits on the unauthenticated login and activation entry points, and decoys
that expire.

- A mobile-number login (anyone can start one) spends its own allowances: per client IP, per
  number (known or not: issue 9's rule) and a share per company. The second factor after a
  correct password spends allowances only a correct password reaches (per user, per phone,
  per company), so a stranger's phone logins never make the holder's login answer 429.
- Login attempts, decoys included, carry ``expires_at`` and a TTL index removes them; the
  activation decoy is a windowed allowance of the rate-limit kit (its counter expires too).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company
from tests.support.polling import eventually

# identity behind one proxy of ours (the client is the X-Forwarded-For entry), with small company
# allowances: 4 second-factor codes and 3 phone-login codes an hour (and 4 of the former shared
# allowance, so the same scenario on the code before the fix shows the harm).
pytestmark = [pytest.mark.security,
              pytest.mark.identity_settings(
                  trusted_proxy_hops=1, sms_per_company_per_hour=4,
                  second_factor_sms_per_company_per_hour=4,
                  phone_login_sms_per_company_per_hour=3, phone_logins_per_ip_per_hour=100,
                  activations_per_ip_per_hour=3)]
HOLDER = "+36301234567"
STRANGER = {"X-Forwarded-For": "203.0.113.66"}


async def phone_login(http, url, phone: str, headers=STRANGER) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": phone},
                         headers=headers) as r:
        return r.status, await r.json()


async def password_login(http, url, login: str, password: str) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/sessions", json={"login": login, "password": password},
                         headers={"X-Forwarded-For": "198.51.100.5"}) as r:
        return r.status, await r.json()


async def user_with_phone(http, url, tap, admin, phone: str) -> tuple[str, str]:
    """ID-7: an active user of the admin's company with a login phone: (login id, password)."""
    async with http.post(f"{url}/v1/users", headers=admin.auth, json={
            "email": f"u-{uuid.uuid4().hex[:10]}@example.com", "first_name": "Béla",
            "surname": "Kovács", "role": "user", "phone": phone,
            "onboarding": "temporary_password",
            "username": f"bela{uuid.uuid4().hex[:8]}"}) as r:
        user = await r.json()
        assert r.status == 201, user
    issued = await tap.wait_for("identity.temporary_password.issued.v1",
                                user_id=user["user_id"])
    return issued["data"]["login_id"], issued["data"]["temporary_password"]


async def test_the_holders_login_gets_its_code_after_strangers_used_the_numbers_phone_logins(
        identity):
    """Seed 001/002: a stranger who knows the number uses up its phone-login codes; the
    holder's password login still sends the second-factor code and logs in."""
    url, _, tap, http = identity
    holder = await register_company(http, url, tap, phone=HOLDER)
    answers = [await phone_login(http, url, "301234567") for _ in range(6)]
    assert [a[0] for a in answers] == [200] * 5 + [429]
    status, step = await password_login(http, url, holder.email, holder.password)
    assert status == 200, step
    assert step["status"] == "code_required"
    sent = await tap.wait_for("identity.login_code.requested.v1",
                              login_attempt_id=step["login_attempt_id"])
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": step["login_attempt_id"], "code": sent["data"]["code"]}) as r:
        assert r.status == 200 and (await r.json())["status"] == "authenticated"
    assert answers[5][1]["limit"] == "phone-login-sms-per-phone"


async def test_company_users_get_second_factor_codes_after_strangers_phone_logins_to_its_numbers(
        identity):
    url, _, tap, http = identity
    admin = await register_company(http, url, tap, phone=HOLDER)
    numbers = [HOLDER, "+36301110001", "+36301110002", "+36301110003"]
    users = [await user_with_phone(http, url, tap, admin, n) for n in numbers[1:]]
    for number in numbers * 2:
        status, body = await phone_login(http, url, number)
        assert status == 200 and body["status"] == "code_required"
    # Every user of the company, administrator first, still gets the code of a login.
    own = set()
    for login, password in [(admin.email, admin.password), *users]:
        status, step = await password_login(http, url, login, password)
        assert status == 200, step
        await tap.wait_for("identity.login_code.requested.v1",
                           login_attempt_id=step["login_attempt_id"])
        own.add(step["login_attempt_id"])
    # Strangers got the company's phone-login share (3 codes); past it the logins answered
    # as for any unknown number and sent nothing.
    def strangers() -> int:
        return len([e for e in tap.of("identity.login_code.requested.v1")
                    if e["data"]["login_attempt_id"] not in own])
    await eventually(lambda: strangers() == 3)
    await asyncio.sleep(0.3)  # a fourth would have been published before the users' codes
    assert strangers() == 3


async def test_phone_logins_per_client_ip_answer_429_alike_for_known_and_unknown_numbers(
        mongo_url, amqp_url, bus_prefix, unique):
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap,
                identity_running(mongo_url, amqp_url, bus_prefix, unique,
                                 trusted_proxy_hops=1, phone_logins_per_ip_per_hour=3
                                 ) as (url, _),
                aiohttp.ClientSession() as http):
        await register_company(http, url, tap, phone=HOLDER)
        client = {"X-Forwarded-For": "203.0.113.9"}
        statuses = [(await phone_login(http, url, n, client))[0]
                    for n in ("+36209990001", "+36209990002", "+36209990003")]
        assert statuses == [200, 200, 200]
        refused = []
        for number in (HOLDER, "+36209990004"):
            async with http.post(f"{url}/v1/sessions/phone", json={"phone": number},
                                 headers=client) as r:
                body = await r.json()
                refused.append((r.status, "Retry-After" in r.headers,
                                body["limit"], body["detail"]))
        assert refused[0] == refused[1]
        assert refused[0][:3] == (429, True, "phone-logins-per-ip")
        # Another client is not affected.
        other = {"X-Forwarded-For": "203.0.113.10"}
        assert (await phone_login(http, url, HOLDER, other))[0] == 200


async def test_activation_tries_per_client_ip_answer_429(identity):
    url, _, _, http = identity

    async def activate(email: str, ip: str) -> tuple[int, dict, str | None]:
        async with http.post(f"{url}/v1/activations", json={
                "email": email, "code": "WRONGCODE2", "username": "bela.kovacs",
                "password": "Eigenes!Pass58"}, headers={"X-Forwarded-For": ip}) as r:
            return r.status, await r.json(), r.headers.get("Retry-After")
    answers = [await activate(f"n{i}@example.com", "203.0.113.7") for i in range(4)]
    assert [a[0] for a in answers] == [400, 400, 400, 429]
    assert answers[3][1]["limit"] == "activations-per-ip" and int(answers[3][2]) >= 1
    assert (await activate("n9@example.com", "203.0.113.8"))[0] == 400


async def test_login_attempts_and_decoys_carry_expires_at_and_are_removed_by_a_ttl_index(
        identity):
    url, app, tap, http = identity
    await register_company(http, url, tap, phone=HOLDER)
    _, known = await phone_login(http, url, HOLDER)
    _, unknown = await phone_login(http, url, "+36209998877")
    attempts = unit(app, Identity).store.login_attempts.collection
    soon = datetime.now(UTC) + timedelta(hours=24)
    for step in (known, unknown):
        doc = await attempts.find_one({"_id": step["login_attempt_id"]})
        assert isinstance(doc["expires_at"], datetime)
        assert abs(doc["expires_at"] - soon) < timedelta(minutes=5)
    ttl = [i for i in (await attempts.index_information()).values()
           if "expireAfterSeconds" in i]
    assert [(i["key"], i["expireAfterSeconds"]) for i in ttl] == [([("expires_at", 1)], 0)]


async def test_the_activation_decoy_of_an_unknown_address_is_a_counter_that_expires(identity):
    url, app, _, http = identity
    async with http.post(f"{url}/v1/activations", json={
            "email": "nobody@example.com", "code": "WRONGCODE2", "username": "bela.kovacs",
            "password": "Eigenes!Pass58"}) as r:
        assert r.status == 400 and (await r.json())["tries_left"] == 4
    counters = await unit(app, Identity).store.counters.find({}).to_list()
    decoys = [c for c in counters if c["_id"].startswith("activation-decoy")]
    assert len(decoys) == 1
    ends = decoys[0]["expires_at"]
    assert isinstance(ends, datetime)
    # It ends with its window: no later than a code's validity (10 days by default).
    assert datetime.now(UTC) < ends <= datetime.now(UTC) + timedelta(days=10)
