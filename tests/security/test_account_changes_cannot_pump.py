"""Review findings H3 and M2: a free account must not be a way to send SMS or mail to numbers and
addresses an attacker chooses. A new login phone is a mobile number, a few per user and hour,
each code counted in the company's SMS allowance; login email additions are bounded per user
and hour, per account (unverified addresses at once) and per recipient and hour."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company
from tests.support.polling import eventually

pytestmark = pytest.mark.security
PHONE_CODE = "identity.phone_verification.requested.v1"
EMAIL_LINK = "identity.email_change.requested.v1"
# Hungarian mobile numbers (20, 30, 70 ranges), all different from the registration phone.
MOBILES = ["+36201112233", "+36302223344", "+36703334455", "+36204445566", "+36305556677"]


async def call(http: aiohttp.ClientSession, method: str, url: str, auth: dict,
               body: dict) -> tuple[int, dict, dict]:
    async with http.request(method, url, json=body, headers=auth) as r:
        payload = await r.json() if r.content_type.endswith("json") else {}
        return r.status, payload, dict(r.headers)


async def propose_phone(http, url, account, phone: str) -> tuple[int, dict, dict]:
    return await call(http, "PATCH", f"{url}/v1/me/contact-details", account.auth,
                      {"phone": phone, "current_password": account.password})


async def add_email(http, url, account, address: str) -> tuple[int, dict, dict]:
    return await call(http, "POST", f"{url}/v1/me/emails", account.auth,
                      {"email": address, "current_password": account.password})


def fields(problem: dict) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in problem.get("errors", [])}


# -- H3: phone changes --------------------------------------------------------------------------
@pytest.mark.parametrize("number", ["+3612345678", "+3690123456"],
                         ids=["fixed-line", "premium-rate"])
async def test_id9_a_new_login_phone_must_be_a_mobile_number(identity, number):
    """A login phone receives SMS codes: a fixed line or a premium-rate number (valid numbers
    both) is refused before anything is sent."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    status, problem, _ = await propose_phone(http, url, account, number)
    assert status == 422 and ("phone", "mobile_number") in fields(problem)
    assert (await propose_phone(http, url, account, MOBILES[0]))[0] == 200
    await tap.wait_for(PHONE_CODE, user_id=account.user_id)
    assert [e["data"]["phone"] for e in tap.of(PHONE_CODE)] == [MOBILES[0]]


async def test_id9_a_user_proposes_at_most_three_new_phones_an_hour(identity):
    """Twelve numbers in a row used to send twelve codes; now the fourth is a 429 naming the
    limit, and no code goes to it."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    for phone in MOBILES[:3]:
        assert (await propose_phone(http, url, account, phone))[0] == 200
        await tap.wait_for(PHONE_CODE, user_id=account.user_id, phone=phone)
    status, problem, headers = await propose_phone(http, url, account, MOBILES[3])
    assert status == 429 and problem["limit"] == "phone-changes-per-user"
    assert 1 <= int(headers["Retry-After"]) <= 3600
    async with http.get(f"{url}/v1/me", headers=account.auth) as r:
        assert (await r.json())["phone_awaiting_confirmation"] == MOBILES[2]
    assert not tap.of(PHONE_CODE, phone=MOBILES[3])


async def test_id9_phone_change_codes_count_against_the_companys_sms_allowance(
        mongo_url, amqp_url, bus_prefix, unique):
    """With room for two SMS per company and hour, the company's third phone-change code is
    refused as sms-per-company although the user is within its own three; another company
    still has its own allowance."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, sms_per_company_per_hour=2) as (url, _),
                aiohttp.ClientSession() as http):
        account = await register_company(http, url, tap)
        for phone in MOBILES[:2]:
            assert (await propose_phone(http, url, account, phone))[0] == 200
        status, problem, _ = await propose_phone(http, url, account, MOBILES[2])
        assert status == 429 and problem["limit"] == "sms-per-company"
        other = await register_company(http, url, tap)
        assert (await propose_phone(http, url, other, MOBILES[2]))[0] == 200
    assert {e["data"]["phone"] for e in tap.of(PHONE_CODE)} == set(MOBILES[:3])


# -- M2: login email addresses ------------------------------------------------------------------
async def test_id10_an_account_holds_at_most_three_unverified_addresses(identity):
    """The fourth unverified address is a 409 saying what to do; deleting one makes room."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    addresses = [f"extra{n}-{account.user_id[:8]}@example.com" for n in range(4)]
    for address in addresses[:3]:
        assert (await add_email(http, url, account, address))[0] == 202
    status, problem, _ = await add_email(http, url, account, addresses[3])
    assert status == 409 and problem["type"] == "/problems/too-many-unverified-emails"
    assert sorted(problem["unverified"]) == sorted(addresses[:3])
    async with http.delete(f"{url}/v1/me/emails/{addresses[0]}", headers=account.auth) as r:
        assert r.status == 204
    assert (await add_email(http, url, account, addresses[3]))[0] == 202
    await tap.wait_for(EMAIL_LINK, new_email=addresses[3])
    assert len(tap.of(EMAIL_LINK, user_id=account.user_id)) == 4


async def test_id10_a_user_adds_at_most_five_addresses_an_hour(
        mongo_url, amqp_url, bus_prefix, unique):
    """Add and delete in a loop (the unverified cap never reached): the sixth addition of the
    hour is a 429 naming the limit, and no link goes to it."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique) as (url, _), aiohttp.ClientSession() as http:
        account = await register_company(http, url, tap)
        for n in range(6):
            address = f"loop{n}-{account.user_id[:8]}@example.com"
            status, problem, headers = await add_email(http, url, account, address)
            if n < 5:
                assert status == 202, problem
                async with http.delete(f"{url}/v1/me/emails/{address}",
                                       headers=account.auth) as r:
                    assert r.status == 204
        assert status == 429 and problem["limit"] == "login-emails-per-user"
        assert 1 <= int(headers["Retry-After"]) <= 3600
        await tap.wait_for(EMAIL_LINK, new_email=f"loop4-{account.user_id[:8]}@example.com")
    assert len(tap.of(EMAIL_LINK, user_id=account.user_id)) == 5


async def test_id10_one_address_gets_at_most_three_verification_emails_an_hour(identity):
    """Several accounts adding the same third-party address (and asking for its link again)
    share the address's allowance: the fourth verification email of the hour is refused."""
    url, _, tap, http = identity
    victim = "victim-of-mail@example.com"
    first = await register_company(http, url, tap)
    second = await register_company(http, url, tap)
    for account in (first, second, first):
        assert (await add_email(http, url, account, victim))[0] == 202
    status, problem, _ = await add_email(http, url, second, victim)
    assert status == 429 and problem["limit"] == "verification-emails-per-address"
    await eventually(lambda: len(tap.of(EMAIL_LINK, new_email=victim)) >= 3)
    assert len(tap.of(EMAIL_LINK, new_email=victim)) == 3
