"""Business usernames tied to their company (ID-14, seed 002 "admin@cégnév",
"felhasználónév@cégnév"): each company has a login domain, proposed from its name; a
``name@domain`` username can only be given inside the company that owns the domain;
``admin@domain`` is the master administrator's login id; a domain change moves the usernames
and keeps the old domain reserved for the company."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import Account, identity_running, log_in, register_company
from tests.support.polling import eventually
from tests.support.services import consumed, publish

pytestmark = pytest.mark.integration
NEW_PASSWORD = "Andere!Pass93"


async def call(http, method: str, url: str, account: Account | None = None,
               body: dict | None = None) -> tuple[int, dict]:
    async with http.request(method, url, json=body,
                            headers=account.auth if account else None) as r:
        return r.status, (await r.json() if r.content_type.endswith("json") else {})


async def company_of(http, url, account: Account) -> dict:
    status, company = await call(http, "GET", f"{url}/v1/company", account)
    assert status == 200, company
    return company


async def new_user(http, url, admin: Account, username: str, *, role: str = "user",
                   expect: int = 201) -> dict:
    status, body = await call(http, "POST", f"{url}/v1/users", admin, {
        "email": f"u-{uuid.uuid4().hex[:10]}@example.com", "first_name": "Béla",
        "surname": "Kovács", "role": role, "onboarding": "temporary_password",
        "username": username})
    assert status == expect, body
    return body


async def first_password(http, url, tap, user: dict) -> None:
    """ID-7: the temporary password changed at the first login."""
    issued = await tap.wait_for("identity.temporary_password.issued.v1",
                                user_id=user["user_id"])
    temporary = issued["data"]["temporary_password"]
    session = await log_in(http, url, tap, issued["data"]["login_id"], temporary)
    async with http.post(f"{url}/v1/me/password", json={
            "current_password": temporary, "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD},
            headers={"Authorization": f"Bearer {session['access_token']}"}) as r:
        assert r.status == 204, await r.text()


async def login_status(http, url, login: str, password: str) -> int:
    async with http.post(f"{url}/v1/sessions", json={"login": login,
                                                     "password": password}) as r:
        return r.status


async def test_seed002_master_administrator_logs_in_as_admin_at_the_company_name(identity):
    """Seed 002: the master administrator's login id is admin@cégnév; the login domain is
    proposed from the company name (accents transliterated, the legal form left out)."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Kovács és Társa Kft.")
    company = await company_of(http, url, admin)
    assert company["login_domain"] == "kovacs-es-tarsa"
    session = await log_in(http, url, tap, "Admin@Kovacs-es-Tarsa", admin.password)
    status, me = await call(http, "GET", f"{url}/v1/me", Account(
        admin.company_id, admin.user_id, admin.email, admin.password,
        session["access_token"], session["refresh_token"]))
    assert status == 200 and me["username"] == "admin@kovacs-es-tarsa"


async def test_seed002_a_second_company_of_the_same_name_gets_its_own_login_domain(identity):
    """The login domain is unique across companies: the second "Alpha Kft." gets a suffix,
    and each administrator's admin@ id logs in its own company."""
    url, _, tap, http = identity
    first = await register_company(http, url, tap, company_name="Alpha Kft.")
    second = await register_company(http, url, tap, company_name="Alpha Kft.",
                                    phone="+36201112233")
    assert (await company_of(http, url, first))["login_domain"] == "alpha"
    assert (await company_of(http, url, second))["login_domain"] == "alpha-2"
    assert (await log_in(http, url, tap, "admin@alpha", first.password))["access_token"]
    session = await log_in(http, url, tap, "admin@alpha-2", second.password)
    status, me = await call(http, "GET", f"{url}/v1/me", Account(
        second.company_id, second.user_id, second.email, second.password,
        session["access_token"], session["refresh_token"]))
    assert status == 200 and me["user_id"] == second.user_id


async def test_seed002_another_company_can_not_take_a_username_at_a_foreign_login_domain(
        identity):
    """The issue's case: company B can no longer take admin@<A's name> (or any name@ at it),
    neither for a new user nor as its own username; A's administrator keeps the id."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap, company_name="Alpha Kft.")
    b = await register_company(http, url, tap, company_name="Beta GmbH", phone="+36201112233")
    for username in ("admin@alpha", "bela@alpha", "Bela@ALPHA", "bela@nobody-here"):
        status, problem = await call(http, "POST", f"{url}/v1/users", b, {
            "email": f"u-{uuid.uuid4().hex[:8]}@example.com", "first_name": "Béla",
            "surname": "Kovács", "role": "user", "onboarding": "temporary_password",
            "username": username})
        assert status == 422, problem
        assert [(e["field"], e["rule"]) for e in problem["errors"]] == [
            ("username", "own_login_domain")]
        assert "'beta'" in problem["errors"][0]["message"]
    status, problem = await call(http, "PUT", f"{url}/v1/me/username", b, {
        "username": "admin@alpha", "current_password": b.password})
    assert status == 422 and problem["errors"][0]["rule"] == "own_login_domain"
    assert (await log_in(http, url, tap, "admin@alpha", a.password))["access_token"]


async def test_seed002_further_users_log_in_as_name_at_the_company_login_domain(identity):
    """Seed 002: users the master administrator creates log in as felhasználónév@cégnév;
    admin@ stays the company administrator's; usernames without @ keep working."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Muster GmbH")
    bela = await new_user(http, url, admin, "Bela@Muster")
    assert bela["username"] == "Bela@muster"
    await first_password(http, url, tap, bela)
    assert (await log_in(http, url, tap, "bela@muster", NEW_PASSWORD))["access_token"]
    problem = await new_user(http, url, admin, "admin@muster", expect=422)
    assert problem["errors"][0]["rule"] == "admin_reserved"
    plain = await new_user(http, url, admin, "kovacs.bela")
    await first_password(http, url, tap, plain)
    assert (await log_in(http, url, tap, "kovacs.bela", NEW_PASSWORD))["access_token"]


async def test_seed002_admin_at_the_login_domain_is_only_for_a_company_administrator(
        identity):
    """A user (not a company administrator) can not choose admin@<domain>, even when the
    administrator uses another username."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Muster GmbH")
    status, _ = await call(http, "PUT", f"{url}/v1/me/username", admin, {
        "username": "anna.muster", "current_password": admin.password})
    assert status == 204
    status, problem = await call(http, "POST", f"{url}/v1/users", admin, {
        "email": f"u-{uuid.uuid4().hex[:8]}@example.com", "first_name": "Béla",
        "surname": "Kovács", "role": "user", "onboarding": "temporary_password",
        "username": "admin@muster"})
    assert status == 422 and problem["errors"][0]["rule"] == "admin_reserved"


async def test_seed002_login_domain_change_moves_the_usernames_and_reserves_the_old_one(
        identity):
    """A company administrator changes the login domain with the current password: admin@
    and name@ ids move to the new domain (each user is told), the old ids stop working, and
    no other company can take the old domain while it is reserved."""
    url, _app, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Muster GmbH")
    bela = await new_user(http, url, admin, "bela@muster")
    await first_password(http, url, tap, bela)
    path = f"{url}/v1/company/login-domain"
    status, problem = await call(http, "PUT", path, admin, {"login_domain": "muster-bau"})
    assert status == 422 and problem["errors"][0]["field"] == "current_password"
    status, problem = await call(http, "PUT", path, admin, {
        "login_domain": "muster-bau", "current_password": "Falsch!Pass11"})
    assert status == 403 and problem["type"] == "/problems/current-password-wrong"
    status, problem = await call(http, "PUT", path, admin, {
        "login_domain": "Muster Bau", "current_password": admin.password})
    assert status == 422 and problem["errors"][0]["field"] == "login_domain"
    status, company = await call(http, "PUT", path, admin, {
        "login_domain": "muster-bau", "current_password": admin.password})
    assert status == 200, company
    assert company["login_domain"] == "muster-bau"
    assert [f["login_domain"] for f in company["former_login_domains"]] == ["muster"]
    moved = await tap.wait_for("identity.username.changed.v1", user_id=bela["user_id"])
    assert moved["data"]["username"] == "bela@muster-bau"
    await tap.wait_for("identity.username.changed.v1", user_id=admin.user_id,
                       username="admin@muster-bau")
    assert await login_status(http, url, "bela@muster", NEW_PASSWORD) == 401
    assert await login_status(http, url, "admin@muster", admin.password) == 401
    assert (await log_in(http, url, tap, "bela@muster-bau", NEW_PASSWORD))["access_token"]
    assert (await log_in(http, url, tap, "admin@muster-bau", admin.password))["access_token"]
    other = await register_company(http, url, tap, company_name="Other Kft.",
                                   phone="+36201112233")
    status, problem = await call(http, "PUT", path, other, {
        "login_domain": "muster", "current_password": other.password})
    assert status == 409 and problem["type"] == "/problems/login-domain-taken"
    status, problem = await call(http, "PUT", path, other, {
        "login_domain": "muster-bau", "current_password": other.password})
    assert status == 409 and problem["type"] == "/problems/login-domain-taken"
    # The reserved domain is still the company's own: it can take it back.
    status, company = await call(http, "PUT", path, admin, {
        "login_domain": "muster", "current_password": admin.password})
    assert status == 200 and company["login_domain"] == "muster"
    await tap.wait_for("identity.username.changed.v1", user_id=bela["user_id"],
                       username="bela@muster")
    assert (await log_in(http, url, tap, "bela@muster", NEW_PASSWORD))["access_token"]


async def test_seed002_login_domain_change_delivered_twice_moves_each_username_once(
        identity, amqp_url, bus_prefix):
    """identity's own consumer of the change is idempotent: the same event again tells no
    user twice and leaves every id where it is."""
    url, app, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Muster GmbH")
    bela = await new_user(http, url, admin, "bela@muster")
    await first_password(http, url, tap, bela)
    status, _ = await call(http, "PUT", f"{url}/v1/company/login-domain", admin, {
        "login_domain": "muster-bau", "current_password": admin.password})
    assert status == 200
    change = await tap.wait_for("identity.company.login_domain_changed.v1",
                                company_id=admin.company_id)
    await tap.wait_for("identity.username.changed.v1", user_id=bela["user_id"])
    await publish(amqp_url, bus_prefix, change)
    await eventually(lambda: consumed(
        app, "identity.company.login_domain_changed.v1") >= 2)
    logins = unit(app, Identity).store.logins
    claims = {d["_id"] for d in await logins.find({"user_id": bela["user_id"]}).to_list()}
    assert "username:bela@muster-bau" in claims and "username:bela@muster" not in claims
    assert len(tap.of("identity.username.changed.v1", user_id=bela["user_id"])) == 1
    assert (await log_in(http, url, tap, "bela@muster-bau", NEW_PASSWORD))["access_token"]


async def test_seed002_an_old_login_domain_is_free_for_others_once_its_reservation_ended(
        mongo_url, amqp_url, bus_prefix, unique):
    """The reservation is a setting (IDENTITY_LOGIN_DOMAIN_RESERVED_DAYS, 90 days); after it
    another company may take the domain, and then give its own name@ ids at it."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap,
                identity_running(mongo_url, amqp_url, bus_prefix, unique,
                                 login_domain_reserved_days=0) as (url, _),
                aiohttp.ClientSession() as http):
        first = await register_company(http, url, tap, company_name="Muster GmbH")
        path = f"{url}/v1/company/login-domain"
        status, _ = await call(http, "PUT", path, first, {
            "login_domain": "muster-bau", "current_password": first.password})
        assert status == 200
        await tap.wait_for("identity.username.changed.v1", user_id=first.user_id,
                           username="admin@muster-bau")
        other = await register_company(http, url, tap, company_name="Other Kft.",
                                       phone="+36201112233")
        status, problem = await call(http, "PUT", path, other, {
            "login_domain": "muster-bau", "current_password": other.password})
        assert status == 409, problem
        status, company = await call(http, "PUT", path, other, {
            "login_domain": "muster", "current_password": other.password})
        assert status == 200 and company["login_domain"] == "muster"
        await tap.wait_for("identity.username.changed.v1", user_id=other.user_id,
                           username="admin@muster")
        session = await log_in(http, url, tap, "admin@muster", other.password)
        status, me = await call(http, "GET", f"{url}/v1/me", Account(
            other.company_id, other.user_id, other.email, other.password,
            session["access_token"], session["refresh_token"]))
        assert me["user_id"] == other.user_id
