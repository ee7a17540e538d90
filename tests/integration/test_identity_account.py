"""The user's own account (ID-8, ID-9, ID-10), company settings (ID-13), registration (ID-1)."""

from __future__ import annotations

import aiohttp
import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import identity_running, log_in, register_company
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def sms_off(http, url, account) -> None:
    async with http.patch(f"{url}/v1/company/settings", json={"sms_login_step": False},
                          headers=account.auth) as r:
        assert r.status == 200


async def test_password_reset_answers_the_same_for_unknown_addresses_and_sends_no_link(
        identity):
    """ID-8: no enumeration."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    bodies = []
    for email in (account.email, "nobody@example.com"):
        async with http.post(f"{url}/v1/password-resets", json={"email": email}) as r:
            bodies.append((r.status, await r.json()))
    assert bodies[0] == bodies[1] and bodies[0][0] == 202
    await tap.wait_for("identity.password_reset.requested.v1", user_id=account.user_id)
    # Both requests were resolved (off the request): one opened a link, the other nothing.
    resets = unit(app, Identity).store.password_resets.collection

    async def none_queued() -> bool:
        return await resets.find_one({"status": "queued"}) is None
    await eventually(none_queued)
    assert len(tap.of("identity.password_reset.requested.v1")) == 1


async def test_password_reset_link_works_once_ends_sessions_and_tells_the_user(identity):
    """ID-8: the link sets the new password twice; it is single-use; sessions end; a
    "password changed" email follows."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    await sms_off(http, url, account)
    await http.post(f"{url}/v1/password-resets", json={"email": account.email})
    token = (await tap.wait_for("identity.password_reset.requested.v1",
                                user_id=account.user_id))["data"]["token"]
    form = {"token": token, "new_password": "Neues!Pass77", "new_password_repeat": "Neues!Pass77"}
    async with http.post(f"{url}/v1/password-resets/completion", json=form) as r:
        assert r.status == 204, await r.text()
    async with http.post(f"{url}/v1/password-resets/completion", json=form) as r:
        assert r.status == 404 and (await r.json())["type"] == "/problems/link-invalid"
    await tap.wait_for("identity.password.changed.v1", user_id=account.user_id)
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        assert r.status == 401
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        assert r.status == 401
    assert (await log_in(http, url, tap, account.email, "Neues!Pass77"))["access_token"]


async def test_expired_reset_link_is_refused_with_its_own_problem(mongo_url, amqp_url,
                                                                  bus_prefix, unique):
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, password_reset_minutes=0) as (url, _),
                aiohttp.ClientSession() as http):
        account = await register_company(http, url, tap)
        await http.post(f"{url}/v1/password-resets", json={"email": account.email})
        token = (await tap.wait_for("identity.password_reset.requested.v1"))["data"]["token"]
        async with http.post(f"{url}/v1/password-resets/completion", json={
                "token": token, "new_password": "Neues!Pass77",
                "new_password_repeat": "Neues!Pass77"}) as r:
            assert r.status == 410 and (await r.json())["type"] == "/problems/link-expired"


async def test_change_password_needs_the_current_one_and_the_new_one_twice(identity):
    """ID-9 and ID-3: each broken rule by name; the last passwords can not come back."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    path = f"{url}/v1/me/password"
    async with http.post(path, headers=account.auth, json={
            "current_password": "Wrong!pass1", "new_password": "Neues!Pass77",
            "new_password_repeat": "Neues!Pass77"}) as r:
        assert r.status == 403 and (await r.json())["type"] == "/problems/current-password-wrong"
    async with http.post(path, headers=account.auth, json={
            "current_password": account.password, "new_password": "kurz",
            "new_password_repeat": "anders"}) as r:
        problem = await r.json()
    assert r.status == 422 and problem["type"] == "/problems/password-policy"
    assert {e["rule"] for e in problem["errors"]} == {
        "too_short", "digit", "special_character", "repeat_matches"}
    async with http.post(path, headers=account.auth, json={
            "current_password": account.password, "new_password": account.password,
            "new_password_repeat": account.password}) as r:
        assert [e["rule"] for e in (await r.json())["errors"]] == ["not_recently_used"]
    async with http.post(path, headers=account.auth, json={
            "current_password": account.password, "new_password": "Neues!Pass77",
            "new_password_repeat": "Neues!Pass77"}) as r:
        assert r.status == 204
    await tap.wait_for("identity.password.changed.v1", user_id=account.user_id)


async def test_username_change_is_confirmed_with_the_password_and_becomes_a_login_id(identity):
    """ID-9 and ID-14: 6–32 characters; name@<the company's login domain> works as a login
    id."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    await sms_off(http, url, account)
    async with http.put(f"{url}/v1/me/username", headers=account.auth,
                        json={"username": "anna", "current_password": account.password}) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "username"
    async with http.put(f"{url}/v1/me/username", headers=account.auth,
                        json={"username": "anna@muster",
                              "current_password": "Wrong!pass1"}) as r:
        assert r.status == 403
    async with http.put(f"{url}/v1/me/username", headers=account.auth,
                        json={"username": "anna@muster",
                              "current_password": account.password}) as r:
        assert r.status == 204
    assert (await log_in(http, url, tap, "anna@muster", account.password))["access_token"]
    # Another company (its login domain is muster-2) can not take a name at muster (seed 002).
    other = await register_company(http, url, tap, phone="+36201112233")
    async with http.put(f"{url}/v1/me/username", headers=other.auth,
                        json={"username": "Anna@Muster",
                              "current_password": other.password}) as r:
        assert r.status == 422
        assert (await r.json())["errors"][0]["rule"] == "own_login_domain"


async def test_first_name_and_surname_can_not_be_changed_but_the_phone_can(identity):
    """ID-9: a new phone (with the current password) counts once confirmed by its code."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.patch(f"{url}/v1/me/contact-details", headers=account.auth,
                          json={"first_name": "Hanna", "phone": "+36709876543"}) as r:
        problem = await r.json()
    assert r.status == 422
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("first_name", "immutable")]
    async with http.patch(f"{url}/v1/me/contact-details", headers=account.auth,
                          json={"phone": "709876543", "language": "hu",
                                "current_password": account.password}) as r:
        me = await r.json()
    assert me["phone"] == "+36301234567" and me["language"] == "hu"
    assert me["phone_awaiting_confirmation"] == "+36709876543"
    assert me["first_name"] == "Anna"
    sent = await tap.wait_for("identity.phone_verification.requested.v1",
                              user_id=account.user_id)
    async with http.post(f"{url}/v1/me/phone-verification", headers=account.auth,
                         json={"code": sent["data"]["code"]}) as r:
        me = await r.json()
    assert me["phone"] == "+36709876543" and me["phone_awaiting_confirmation"] is None


async def test_email_change_verify_make_primary_and_delete_the_old_address(identity):
    """ID-10: add → verify by link → primary (notice to the old address) → delete the old."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    await sms_off(http, url, account)
    new = f"new-{account.email}"
    async with http.post(f"{url}/v1/me/emails", headers=account.auth,
                         json={"email": new, "current_password": account.password}) as r:
        assert r.status == 202
    requested = await tap.wait_for("identity.email_change.requested.v1", new_email=new)
    async with http.post(f"{url}/v1/me/emails/{new}/primary", headers=account.auth) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["rule"] == "not_verified"
    async with http.post(f"{url}/v1/email-verifications",
                         json={"token": requested["data"]["token"]}) as r:
        assert r.status == 200
    async with http.post(f"{url}/v1/me/emails/{new}/primary", headers=account.auth) as r:
        assert r.status == 204
    changed = await tap.wait_for("identity.email.changed.v1", user_id=account.user_id)
    assert changed["data"]["old_email"] == account.email
    async with http.delete(f"{url}/v1/me/emails/{new}", headers=account.auth) as r:
        assert r.status == 409  # the primary one stays
    async with http.delete(f"{url}/v1/me/emails/{account.email}", headers=account.auth) as r:
        assert r.status == 204
    async with http.post(f"{url}/v1/sessions", json={"login": account.email,
                                                     "password": account.password}) as r:
        assert r.status == 401
    assert (await log_in(http, url, tap, new, account.password))["access_token"]


async def test_company_password_policy_can_be_made_stricter_but_not_weaker(identity):
    """ID-3 / ID-13."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.patch(f"{url}/v1/company/settings", headers=account.auth, json={
            "password_policy": {"min_length": 6}}) as r:
        problem = await r.json()
    assert r.status == 422 and problem["errors"][0]["field"] == "password_policy.min_length"
    async with http.patch(f"{url}/v1/company/settings", headers=account.auth, json={
            "password_policy": {"min_length": 14, "min_character_classes": 4}}) as r:
        assert r.status == 200
    await tap.wait_for("identity.company.settings_changed.v1", company_id=account.company_id)
    async with http.post(f"{url}/v1/me/password", headers=account.auth, json={
            "current_password": account.password, "new_password": "neues!pass77",
            "new_password_repeat": "neues!pass77"}) as r:
        rules = {e["rule"] for e in (await r.json())["errors"]}
    assert rules == {"too_short", "character_classes"}


async def test_company_profile_is_kept_and_read_back(identity):
    """ID-13: description, industry, contact phone, email, website, address."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    profile = {"description": "Sanitärbedarf", "industry": "Handel",
               "contact_phone": "+4930123456", "email": "info@muster.example",
               "website": "https://muster.example/", "address": {
                   "street": "Hauptstr. 1", "postcode": "10115", "city": "Berlin",
                   "country": "DE"}}
    async with http.put(f"{url}/v1/company/profile", headers=account.auth, json=profile) as r:
        assert r.status == 200, await r.text()
    async with http.get(f"{url}/v1/company", headers=account.auth) as r:
        assert (await r.json())["profile"] == profile


async def test_registering_a_taken_address_answers_the_same_and_completion_says_it_is_taken(
        identity):
    """ID-1: no enumeration at the first step; after the link, a clear problem."""
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/registrations", json={"email": account.email}) as r:
        assert r.status == 202

    def both_started() -> list[dict]:
        found = tap.of("identity.registration.started.v1", email=account.email)
        return found if len(found) >= 2 else []
    started = await eventually(both_started)
    async with http.post(f"{url}/v1/registrations/completion", json={
            "token": started[-1]["data"]["token"], "first_name": "Eve", "surname": "X",
            "company_name": "Eve Kft.", "phone": "+36301112222",
            "password": "Sicher!Pass42"}) as r:
        assert r.status == 409 and (await r.json())["type"] == "/problems/email-taken"


async def test_registration_reports_each_missing_mandatory_field(identity):
    url, _, _, http = identity
    async with http.post(f"{url}/v1/registrations/completion", json={
            "token": "x" * 43, "phone": "12"}) as r:
        problem = await r.json()
    assert r.status == 422
    assert {e["field"] for e in problem["errors"]} == {
        "first_name", "surname", "company_name", "phone", "password"}


async def test_adding_someone_elses_address_does_not_block_their_registration(identity):
    """ID-10: an address becomes a login id only once verified by its owner."""
    url, _, tap, http = identity
    squatter = await register_company(http, url, tap)
    victim = f"ceo-{squatter.email}"
    async with http.post(f"{url}/v1/me/emails", headers=squatter.auth,
                         json={"email": victim, "current_password": squatter.password}) as r:
        assert r.status == 202
    owner = await register_company(http, url, tap, email=victim, phone="+36201112233")
    assert owner.email == victim
    link = (await tap.wait_for("identity.email_change.requested.v1",
                               new_email=victim))["data"]["token"]
    async with http.post(f"{url}/v1/email-verifications", json={"token": link}) as r:
        assert r.status == 409 and (await r.json())["type"] == "/problems/email-taken"
