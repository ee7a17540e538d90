"""Authorised contacts and the support question "may this person do this for this customer?"
(CON-7, seed 004 "Autorisierungen und Vertragspartner")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.integration.test_contracts_harness import contract, contracts, new_number

pytestmark = pytest.mark.integration
__all__ = ["contracts"]

TODAY = date.today()


async def _holder(contracts):
    number = new_number()
    password = await contracts.issue_number(number, contracts=[contract("K-1")])
    admin = await contracts.company()
    assert (await contracts.link(admin, number, password))[0] == 201
    return admin, number


async def test_seed004_support_asks_may_this_person_do_this_for_this_customer(contracts):
    """Seed 004: the customer names who may give instructions and for what; support checks
    each request against it and gets yes or no with the reason."""
    admin, number = await _holder(contracts)
    path = f"/v1/customer-numbers/{number}/authorised-contacts"
    status, person = await contracts.call("POST", path, admin.token, json={
        "kind": "person", "name": "Petra Prokura", "email": "Petra@Muster.example",
        "actions": ["order", "billing_question"],
        "valid_from": (TODAY - timedelta(days=1)).isoformat(),
        "valid_until": (TODAY + timedelta(days=30)).isoformat()})
    assert status == 201, person
    status, agency = await contracts.call("POST", path, admin.token, json={
        "kind": "agency", "name": "Webdesign Agentur", "organisation": "Pixel & Co",
        "email": "support@pixel.example", "actions": ["technical_change"],
        "valid_from": (TODAY + timedelta(days=7)).isoformat()})
    assert status == 201, agency
    status, body = await contracts.call("POST", path, admin.token, json={
        "name": "Petra again", "email": "petra@muster.example", "actions": ["cancel"],
        "valid_from": TODAY.isoformat()})
    assert status == 409 and body["type"] == "/problems/authorised-contact-exists"
    status, listed = await contracts.call("GET", path, admin.token)
    assert [c["email"] for c in listed["contacts"]] == ["petra@muster.example",
                                                         "support@pixel.example"]

    support = contracts.support_token()

    async def ask(email: str, action: str, on: date | None = None, number: str = number):
        params = {"customer_number": number, "email": email, "action": action}
        if on:
            params["on"] = on.isoformat()
        status, answer = await contracts.call("GET", "/v1/support/authorisations", support,
                                              params=params)
        assert status == 200, answer
        return answer["allowed"], answer["reason_code"], answer["reason"]

    assert (await ask("petra@muster.example", "order"))[:2] == (True, "authorised-contact")
    allowed, code, reason = await ask("petra@muster.example", "cancel")
    assert (allowed, code) == (False, "action-not-authorised")
    assert "order, billing_question" in reason
    assert (await ask("petra@muster.example", "order", TODAY + timedelta(days=31)))[:2] == (
        False, "authorisation-ended")
    assert (await ask("support@pixel.example", "technical_change"))[:2] == (
        False, "not-yet-valid")
    assert (await ask("support@pixel.example", "technical_change",
                      TODAY + timedelta(days=7)))[:2] == (True, "authorised-contact")
    assert (await ask("stranger@example.com", "order"))[:2] == (False, "not-authorised")
    assert (await ask(admin.email, "cancel"))[:2] == (True, "master-administrator")
    assert (await ask("petra@muster.example", "order", number="5555555555"))[:2] == (
        False, "unknown-customer-number")

    # Withdrawn: the answer turns to no at once.
    status, _ = await contracts.call("DELETE", f"{path}/{person['contact_id']}", admin.token)
    assert status == 204
    assert (await ask("petra@muster.example", "order"))[:2] == (False, "not-authorised")


async def test_nobody_is_authorised_for_a_number_no_company_holds(contracts):
    number = new_number()
    await contracts.issue_number(number)
    status, answer = await contracts.call(
        "GET", "/v1/support/authorisations", contracts.support_token(),
        params={"customer_number": number, "email": "x@example.com", "action": "order"})
    assert status == 200 and answer["allowed"] is False
    assert answer["reason_code"] == "no-contract-holder-account"


async def test_only_the_contract_holders_company_names_authorised_contacts(contracts):
    admin, number = await _holder(contracts)
    other = await contracts.company("Andere GmbH")
    path = f"/v1/customer-numbers/{number}/authorised-contacts"
    contact = {"name": "Eve", "email": "eve@example.com", "actions": ["cancel"],
               "valid_from": TODAY.isoformat()}
    status, body = await contracts.call("POST", path, other.token, json=contact)
    assert status == 404 and body["type"] == "/problems/link-not-found"
    status, _ = await contracts.call("GET", path, other.token)
    assert status == 404
    status, body = await contracts.call("POST", path, admin.token, json={
        **contact, "valid_until": (TODAY - timedelta(days=1)).isoformat(), "actions": []})
    assert status == 422
    assert "actions" in {e["field"] for e in body["errors"]}
    status, _ = await contracts.call("GET", "/v1/support/authorisations", admin.token, params={
        "customer_number": number, "email": "eve@example.com", "action": "cancel"})
    assert status == 403
