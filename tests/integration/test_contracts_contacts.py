"""Authorised contacts and the support question "may this person do this for this customer?"
(CON-7, seed 004 "Autorisierungen und Vertragspartner")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.contracts import contract, new_number

pytestmark = pytest.mark.integration

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


# -- seed 004 "neue Ansprechpartner hinterlegen": edited, with a history support reads ---------

async def test_seed004_an_authorised_contact_is_edited_and_support_reads_every_change(
        contracts):
    """Seed 004: staff changes ("personelle Änderungen") are told to the provider: the customer
    edits a contact's name, email, phone and actions; support's answer follows at once, and
    support reads who changed what, when, and what it was before."""
    admin, number = await _holder(contracts)
    path = f"/v1/customer-numbers/{number}/authorised-contacts"
    status, petra = await contracts.call("POST", path, admin.token, json={
        "name": "Petra Prokura", "email": "petra@muster.example", "phone": "+49 30 1234567",
        "actions": ["order"], "valid_from": TODAY.isoformat()})
    assert status == 201, petra
    assert petra["phone"] == "+49301234567"
    status, changed = await contracts.call("PATCH", f"{path}/{petra['contact_id']}",
                                           admin.token, json={
        "name": "Petra Neumann", "email": "P.Neumann@Muster.example", "phone": "+4930765432",
        "actions": ["order", "cancel"]})
    assert status == 200, changed
    assert (changed["name"], changed["email"], changed["phone"], changed["actions"]) == (
        "Petra Neumann", "p.neumann@muster.example", "+4930765432", ["order", "cancel"])
    assert changed["valid_from"] == TODAY.isoformat()  # not sent, not changed
    _, listed = await contracts.call("GET", path, admin.token)
    assert [c["email"] for c in listed["contacts"]] == ["p.neumann@muster.example"]

    support = contracts.support_token()

    async def ask(email: str, action: str) -> tuple[bool, str]:
        _, answer = await contracts.call("GET", "/v1/support/authorisations", support, params={
            "customer_number": number, "email": email, "action": action})
        return answer["allowed"], answer["reason_code"]

    assert await ask("p.neumann@muster.example", "cancel") == (True, "authorised-contact")
    assert await ask("petra@muster.example", "order") == (False, "not-authorised")

    status, _ = await contracts.call("DELETE", f"{path}/{petra['contact_id']}", admin.token)
    assert status == 204
    status, history = await contracts.call(
        "GET", f"/v1/support/customer-numbers/{number}/authorised-contacts/history", support)
    assert status == 200, history
    assert [e["action"] for e in history["items"]] == ["removed", "changed", "added"]
    removed, edit, added = history["items"]
    assert {e["by"] for e in history["items"]} == {admin.user_id}
    assert edit["previous"] == {"name": "Petra Prokura", "email": "petra@muster.example",
                                "phone": "+49301234567", "actions": ["order"]}
    assert edit["contact"]["name"] == "Petra Neumann"
    assert added["contact"]["email"] == "petra@muster.example"
    assert removed["contact"]["email"] == "p.neumann@muster.example"
    assert history["next_cursor"] is None
    # The company's administrators read their own history too; others' tokens read none.
    status, own = await contracts.call("GET", f"{path}/history", admin.token)
    assert status == 200 and [e["entry_id"] for e in own["items"]] == [
        e["entry_id"] for e in history["items"]]
    status, _ = await contracts.call(
        "GET", f"/v1/support/customer-numbers/{number}/authorised-contacts/history",
        admin.token)
    assert status == 403


async def test_seed004_contact_history_is_paged_newest_first(contracts):
    admin, number = await _holder(contracts)
    path = f"/v1/customer-numbers/{number}/authorised-contacts"
    _, c = await contracts.call("POST", path, admin.token, json={
        "name": "Agentur", "email": "a@pixel.example", "actions": ["technical_change"],
        "valid_from": TODAY.isoformat()})
    for n in range(6):
        status, _ = await contracts.call("PATCH", f"{path}/{c['contact_id']}", admin.token,
                                         json={"name": f"Agentur {n}"})
        assert status == 200
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        status, page = await contracts.call("GET", f"{path}/history", admin.token,
                                            params=params)
        assert status == 200, page
        seen += [e["contact"]["name"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Agentur {n}" for n in range(5, -1, -1)] + ["Agentur"]


async def test_seed004_an_edit_is_checked_like_a_new_contact(contracts):
    admin, number = await _holder(contracts)
    other = await contracts.company("Andere GmbH")
    path = f"/v1/customer-numbers/{number}/authorised-contacts"
    contact = {"name": "Eve", "email": "eve@example.com", "actions": ["cancel"],
               "valid_from": TODAY.isoformat()}
    _, eve = await contracts.call("POST", path, admin.token, json=contact)
    _, bob = await contracts.call("POST", path, admin.token,
                                  json={**contact, "name": "Bob", "email": "bob@example.com"})
    edit = f"{path}/{bob['contact_id']}"
    status, body = await contracts.call("PATCH", edit, admin.token,
                                        json={"email": "EVE@example.com"})
    assert status == 409 and body["type"] == "/problems/authorised-contact-exists"
    status, body = await contracts.call("PATCH", edit, admin.token, json={
        "valid_until": (TODAY - timedelta(days=1)).isoformat()})
    assert status == 422 and body["errors"][0]["field"] == "valid_until"
    status, body = await contracts.call("PATCH", edit, admin.token,
                                        json={"phone": "12", "actions": []})
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"phone", "actions"}
    status, body = await contracts.call("PATCH", edit, admin.token, json={"name": None})
    assert status == 422
    status, body = await contracts.call("PATCH", edit, admin.token, json={})
    assert status == 422
    # Another company can neither edit the contact nor read the history.
    status, body = await contracts.call("PATCH", edit, other.token, json={"name": "Mallory"})
    assert status == 404 and body["type"] == "/problems/link-not-found"
    status, _ = await contracts.call("GET", f"{path}/history", other.token)
    assert status == 404
    status, body = await contracts.call("PATCH", f"{path}/nope", admin.token,
                                        json={"name": "X"})
    assert status == 404 and body["type"] == "/problems/authorised-contact-not-found"
    _, listed = await contracts.call("GET", path, admin.token)
    assert {c["name"] for c in listed["contacts"]} == {"Eve", "Bob"}
    assert eve["contact_id"] in {c["contact_id"] for c in listed["contacts"]}
