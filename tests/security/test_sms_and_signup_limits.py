"""Issue 9, part 6: SMS pumping and mail bombing. Registrations per address and per client,
activation-code requests per client, login codes per company (second factors and phone
logins each their own allowance): each a 429 problem with Retry-After naming its limit, or
(where a 429 would tell that an account exists) the usual answer with nothing sent."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.identity import register_company
from tests.support.polling import eventually

# identity behind one proxy of ours (the client is the X-Forwarded-For entry it adds), with small
# per-client and per-company limits.
pytestmark = [pytest.mark.security,
              pytest.mark.identity_settings(
                  trusted_proxy_hops=1, registrations_per_ip_per_hour=3,
                  activation_code_requests_per_ip_per_hour=3,
                  second_factor_sms_per_company_per_hour=2, phone_login_sms_per_company_per_hour=1)]


def client(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def test_one_address_gets_at_most_three_registration_emails_an_hour(identity):
    url, _, tap, http = identity
    statuses = []
    for i in range(4):
        async with http.post(f"{url}/v1/registrations", json={"email": "anna@example.com"},
                             headers=client(f"198.51.100.{i}")) as r:
            statuses.append(r.status)
            problem = await r.json()
    assert statuses == [202, 202, 202, 429]
    assert problem["limit"] == "registrations-per-email" and int(r.headers["Retry-After"]) >= 1
    await eventually(lambda: len(tap.of("identity.registration.started.v1",
                                        email="anna@example.com")) == 3)
    await asyncio.sleep(0.3)  # a fourth email would have been published with the third
    assert len(tap.of("identity.registration.started.v1", email="anna@example.com")) == 3


async def test_one_client_address_may_start_only_a_few_registrations_an_hour(identity):
    url, _, _tap, http = identity
    statuses = []
    for i in range(4):
        async with http.post(f"{url}/v1/registrations", json={"email": f"r{i}@example.com"},
                             headers=client("203.0.113.7")) as r:
            statuses.append(r.status)
            problem = await r.json()
    assert statuses == [202, 202, 202, 429]
    assert problem["limit"] == "registrations-per-ip" and "Retry-After" in r.headers
    # Another client is not affected.
    async with http.post(f"{url}/v1/registrations", json={"email": "r9@example.com"},
                         headers=client("203.0.113.8")) as r:
        assert r.status == 202


async def test_one_client_address_may_ask_for_only_a_few_activation_codes_an_hour(identity):
    url, _, _tap, http = identity
    statuses = []
    for i in range(4):
        async with http.post(f"{url}/v1/activations/code-requests",
                             json={"email": f"a{i}@example.com"},
                             headers=client("203.0.113.7")) as r:
            statuses.append(r.status)
            problem = await r.json()
    assert statuses == [202, 202, 202, 429]
    assert problem["limit"] == "activation-code-requests-per-ip" and "Retry-After" in r.headers
    async with http.post(f"{url}/v1/activations/code-requests",
                         json={"email": "a9@example.com"}, headers=client("203.0.113.8")) as r:
        assert r.status == 202


async def test_a_company_gets_only_its_hourly_login_codes_and_a_phone_login_past_it_sends_none(
        identity):
    """Second-factor codes per company (here 2): after a correct password the SMS step
    answers 429. Phone-login codes per company (here 1): past it a mobile-number login
    answers as for an unknown number, and no SMS goes out."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone="+36301234567")
    answers = []
    for _ in range(3):
        async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                         "password": account.password}) as r:
            answers.append((r.status, await r.json()))
    assert [a[0] for a in answers] == [200, 200, 429]
    assert answers[2][1]["limit"] == "second-factor-sms-per-company"
    steps = []
    for phone in ("301234567", "301234567", "+36209998877"):
        async with http.post(f"{url}/v1/sessions/phone", json={"phone": phone}) as r:
            assert r.status == 200
            steps.append(await r.json())
    assert steps[1].keys() == steps[2].keys()
    assert {s["status"] for s in steps} == {"code_required"}
    await eventually(lambda: len(tap.of("identity.login_code.requested.v1",
                                        user_id=account.user_id)) == 3)
    await asyncio.sleep(0.3)  # the second phone login's code would have been published by now
    assert len(tap.of("identity.login_code.requested.v1", user_id=account.user_id)) == 3
