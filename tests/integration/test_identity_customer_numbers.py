"""Seed 004 in identity: "Als Benutzername verwenden Sie bitte Ihre Kunden-Nummer." The customer
number logs in its contract holder's account (learnt from contracts' and the CRM's events), and
"forgot password" with the number sends a link to the CRM's reference address that opens the
account of a holder without a login."""

from __future__ import annotations

import uuid

import jwt
import pytest

from tests.support.identity import (
    NEW_PASSWORD,
    create_user,
    first_login,
    log_in,
    register_company,
)
from tests.support.polling import eventually
from tests.support.services import consumed, envelope, publish
from tests.support.tokens import bearer

pytestmark = pytest.mark.integration

ACCESS_REQUESTED = "identity.customer_number_access.requested.v1"


def new_number() -> str:
    return str(uuid.uuid4().int % 10**10).rjust(10, "1")


async def deliver(app, amqp_url: str, bus_prefix: str, *envelopes: dict) -> None:
    """Publish as the CRM or contracts would, and wait until identity handled them."""
    before = {e["type"]: consumed(app, e["type"]) for e in envelopes}
    await publish(amqp_url, bus_prefix, *envelopes)
    wanted = {t: before[t] + sum(1 for e in envelopes if e["type"] == t) for t in before}
    await eventually(lambda: all(consumed(app, t) >= n for t, n in wanted.items()))


def crm_issued(number: str, email: str, segment: str = "business") -> dict:
    return envelope("crm.customer_number.issued.v1", {
        "customer_number": number, "kind": "landline", "segment": segment,
        "holder_name": "Muster GmbH", "contact_email": email, "language": "de",
        "contracts": [{"contract_id": "K-1", "product": "Cloud PBX", "segment": segment,
                       "status": "active"}]}, source="/crm")


def linked(number: str, company_id: str, linked_by: str, link_type: str = "holder") -> dict:
    return envelope("contracts.customer_number.linked.v1", {
        "company_id": company_id, "customer_number": number, "kind": "landline",
        "link_type": link_type, "contract_ids": ["K-1"], "access_numbers": [],
        "linked_by": linked_by}, company_id=company_id, source="/services/contracts")


async def login_status(http, url: str, login: str, password: str) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/sessions", json={"login": login,
                                                     "password": password}) as r:
        return r.status, await r.json()


def _unverified_sub(token: str) -> str:
    # Only which account the token names matters here; identity verified the password.
    return jwt.decode(token, options={"verify_signature": False})["sub"]


async def test_seed004_contract_holder_logs_in_with_the_customer_number(
        identity, amqp_url, bus_prefix):
    """The user whose account linked the number as holder logs in with the number and the
    password, through the company's SMS step as usual; a wrong password, an unknown number
    and a number the company only holds as user get the same refusal."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    number, user_only = new_number(), new_number()
    await deliver(app, amqp_url, bus_prefix, crm_issued(number, "it@muster.example"),
                  linked(number, account.company_id, account.user_id),
                  linked(user_only, account.company_id, account.user_id, link_type="user"))

    status, body = await login_status(http, url, number, account.password)
    assert status == 200 and body["status"] == "code_required", body  # the SMS step
    session = await log_in(http, url, tap, number, account.password)
    assert session["status"] == "authenticated"
    assert _unverified_sub(session["access_token"]) == account.user_id

    refusals = [await login_status(http, url, login, password) for login, password in (
        (number, "Falsch!Pass42"), (new_number(), account.password),
        (user_only, account.password))]
    assert {s for s, _ in refusals} == {401}
    assert len({b["detail"] for _, b in refusals}) == 1
    # The existing login ids keep working.
    assert (await log_in(http, url, tap, account.email, account.password))["status"] == \
        "authenticated"


async def test_seed004_number_no_longer_logs_in_once_its_holder_link_is_deleted(
        identity, amqp_url, bus_prefix):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    number = new_number()
    await deliver(app, amqp_url, bus_prefix, linked(number, account.company_id, account.user_id))
    assert (await login_status(http, url, number, account.password))[0] == 200
    await deliver(app, amqp_url, bus_prefix, envelope(
        "contracts.customer_number.unlinked.v1", {
            "company_id": account.company_id, "customer_number": number, "kind": "landline",
            "link_type": "holder"}, company_id=account.company_id))
    assert (await login_status(http, url, number, account.password))[0] == 401


async def test_seed004_administrator_designates_the_user_who_logs_in_with_the_number(
        identity, amqp_url, bus_prefix):
    url, app, tap, http = identity
    admin = await register_company(http, url, tap)
    number = new_number()
    await deliver(app, amqp_url, bus_prefix, crm_issued(number, "it@muster.example"),
                  linked(number, admin.company_id, admin.user_id))
    colleague = await create_user(http, url, admin, role="billing_admin")
    await first_login(http, url, tap, colleague)
    async with http.put(f"{url}/v1/customer-numbers/{number}/login-user", headers=admin.auth,
                        json={"user_id": colleague["user_id"]}) as r:
        assert r.status == 200, await r.text()
    session = await log_in(http, url, tap, number, NEW_PASSWORD)
    assert _unverified_sub(session["access_token"]) == colleague["user_id"]
    async with http.get(f"{url}/v1/customer-numbers", headers=admin.auth) as r:
        listed = (await r.json())["customer_numbers"]
    assert listed == [{"customer_number": number, "holder_name": "Muster GmbH",
                       "login_user_id": colleague["user_id"], "designated": True}]
    # Another company can not designate anyone for a number it does not hold.
    other = await register_company(http, url, tap, company_name="Andere GmbH")
    async with http.put(f"{url}/v1/customer-numbers/{number}/login-user", headers=other.auth,
                        json={"user_id": other.user_id}) as r:
        assert r.status == 404
        assert (await r.json())["type"] == "/problems/customer-number-not-held"


async def test_seed004_holder_without_login_sets_a_password_through_the_reference_address(
        identity, amqp_url, bus_prefix):
    """The link goes to the reference address the CRM holds now (after a CRM change); the
    answer is the same for an unknown number; the password opens a company named after the
    holder with this account as master administrator, which logs in with the number."""
    url, app, tap, http = identity
    number = new_number()
    await deliver(app, amqp_url, bus_prefix, crm_issued(number, "old@muster.example"))
    await deliver(app, amqp_url, bus_prefix, envelope("crm.customer_number.changed.v1", {
        "customer_number": number, "contact_email": "office@muster.example"}, source="/crm"))

    answers = []
    for n in (number, new_number()):
        async with http.post(f"{url}/v1/password-resets/customer-number",
                             json={"customer_number": n}) as r:
            answers.append((r.status, await r.json()))
    assert answers[0] == answers[1] and answers[0][0] == 202
    sent = await tap.wait_for(ACCESS_REQUESTED, customer_number=number)
    assert sent["data"]["email"] == "office@muster.example"

    async with http.post(f"{url}/v1/password-resets/completion", json={
            "token": sent["data"]["token"], "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD}) as r:
        assert r.status == 204, await r.text()
    registered = await tap.wait_for("identity.company.registered.v1",
                                    company_name="Muster GmbH")
    claimed = await tap.wait_for("identity.customer_number.claimed.v1", customer_number=number)
    assert claimed["data"]["company_id"] == registered["data"]["company_id"]

    session = await log_in(http, url, tap, number, NEW_PASSWORD)
    assert session["status"] == "authenticated"  # no phone yet: the first login asks for it
    async with http.get(f"{url}/v1/me", headers=bearer(session["access_token"])) as r:
        me = await r.json()
    assert me["roles"] == ["company_admin"] and me["email"] == "office@muster.example"
    assert me["missing_contact_details"] == ["phone"]
    assert len(tap.of(ACCESS_REQUESTED)) == 1  # nothing for the unknown number
    # The link worked once.
    async with http.post(f"{url}/v1/password-resets/completion", json={
            "token": sent["data"]["token"], "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD}) as r:
        assert r.status == 404


async def test_seed004_forgot_password_with_the_number_of_a_holder_account_resets_it(
        identity, amqp_url, bus_prefix):
    """A number whose holder has an account: the ordinary reset link, to the account's own
    address, not the CRM's."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    number = new_number()
    await deliver(app, amqp_url, bus_prefix, crm_issued(number, "crm@muster.example"),
                  linked(number, account.company_id, account.user_id))
    async with http.post(f"{url}/v1/password-resets/customer-number",
                         json={"customer_number": number}) as r:
        assert r.status == 202
    reset = await tap.wait_for("identity.password_reset.requested.v1", user_id=account.user_id)
    assert reset["data"]["email"] == account.email
    assert tap.of(ACCESS_REQUESTED, customer_number=number) == []
