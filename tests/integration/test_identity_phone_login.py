"""ID-6 (seed 002 "Belépés telefonszámmal"): a mobile-number login gets a token for that
number's own functions, as far as the company administrator allows them ("Felhasználói jogok
beállítása"); a number several companies' users share asks which company after the code."""

from __future__ import annotations

import jwt
import pytest

from tests.support.identity import register_company

pytestmark = pytest.mark.integration

PHONE = "+36301234567"
ALL = ["own_number:read", "own_number:invoices", "own_number:notifications"]


async def phone_code(http, url, tap, phone: str = "301234567") -> dict:
    """Ask for the code and enter it; the answer of the code step."""
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": phone}) as r:
        step = await r.json()
        assert r.status == 200 and step["status"] == "code_required", step
    sent = await tap.wait_for("identity.login_code.requested.v1",
                              login_attempt_id=step["login_attempt_id"])
    async with http.post(f"{url}/v1/sessions/code", json={
            "login_attempt_id": step["login_attempt_id"], "code": sent["data"]["code"]}) as r:
        body = await r.json()
        assert r.status == 200, body
    return body


def claims(session: dict) -> dict:
    return jwt.decode(session["access_token"], options={"verify_signature": False})


async def settings_change(http, url, account, **changes) -> tuple[int, dict]:
    async with http.patch(f"{url}/v1/company/settings", json=changes,
                          headers=account.auth) as r:
        return r.status, await r.json()


async def test_seed002_phone_login_token_carries_the_number_and_what_the_administrator_allows(
        identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=PHONE)
    session = await phone_code(http, url, tap)
    assert session["status"] == "authenticated"
    token = claims(session)
    assert token["phone"] == PHONE and token["roles"] == [] and token["cid"] == account.company_id
    assert sorted(token["perms"]) == sorted(ALL)  # seed 002: the number's functions by default

    status, saved = await settings_change(http, url, account,
                                          phone_login_permissions=["own_number:read"])
    assert status == 200 and saved["phone_login_permissions"] == ["own_number:read"]
    # The next token of the phone session (refresh) carries the restricted list.
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": session["refresh_token"]}) as r:
        refreshed = await r.json()
    assert claims(refreshed)["perms"] == ["own_number:read"]
    assert claims(refreshed)["phone"] == PHONE


async def test_seed002_administrator_sets_phone_login_rights_from_the_documented_list(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=PHONE)
    async with http.get(f"{url}/v1/company/settings", headers=account.auth) as r:
        assert sorted((await r.json())["phone_login_permissions"]) == sorted(ALL)
    for wrong in (["own_number:orders"], ["own_number:read", "own_number:read"], "all"):
        status, problem = await settings_change(http, url, account,
                                                phone_login_permissions=wrong)
        assert status == 422, wrong
        assert problem["errors"][0]["field"].startswith("phone_login_permissions")
    status, saved = await settings_change(http, url, account, phone_login_permissions=[])
    assert status == 200 and saved["phone_login_permissions"] == []
    assert claims(await phone_code(http, url, tap))["perms"] == []


async def test_seed002_number_of_users_in_two_companies_asks_which_company_after_the_code(
        identity):
    url, _, tap, http = identity
    first = await register_company(http, url, tap, phone=PHONE, company_name="Alpha Kft.")
    second = await register_company(http, url, tap, phone=PHONE, company_name="Beta Kft.")
    async with http.post(f"{url}/v1/sessions/phone", json={"phone": "+36209998877"}) as r:
        unknown = await r.json()

    choice = await phone_code(http, url, tap)
    # Before the code the answer is the one any number gets (nothing about the companies).
    assert set(unknown) == set(choice) and unknown["accounts"] is None
    assert choice["status"] == "account_choice_required" and choice["access_token"] is None
    offered = {a["company_name"]: a for a in choice["accounts"]}
    assert set(offered) == {"Alpha Kft.", "Beta Kft."}
    assert offered["Beta Kft."]["company_id"] == second.company_id
    assert len(tap.of("identity.login_code.requested.v1", phone=PHONE)) == 1  # one SMS

    pick = f"{url}/v1/sessions/phone/account"
    async with http.post(pick, json={"login_attempt_id": choice["login_attempt_id"],
                                     "account_id": "somebody-else"}) as r:
        problem = await r.json()
        assert r.status == 422 and problem["errors"][0]["field"] == "account_id"
    async with http.post(pick, json={"login_attempt_id": choice["login_attempt_id"],
                                     "account_id": offered["Beta Kft."]["account_id"]}) as r:
        session = await r.json()
        assert r.status == 200, session
    token = claims(session)
    assert token["cid"] == second.company_id and token["sub"] == second.user_id
    assert token["phone"] == PHONE and token["roles"] == []
    # The choice is single use: it can not be turned into a token of the other company.
    async with http.post(pick, json={"login_attempt_id": choice["login_attempt_id"],
                                     "account_id": offered["Alpha Kft."]["account_id"]}) as r:
        assert r.status == 401
    assert first.company_id != second.company_id


async def test_seed002_a_number_of_one_account_logs_in_at_once(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap, phone=PHONE)
    await register_company(http, url, tap, phone="+36709876543")
    session = await phone_code(http, url, tap)
    assert session["status"] == "authenticated" and session["accounts"] is None
    assert claims(session)["sub"] == account.user_id
