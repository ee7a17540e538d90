"""Transferring landline permissions to another master administrator (CON-5, seed 001
"Festnetz-Berechtigungen übertragen") and contract permissions of sub-administrators (CON-6)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.contracts import contract, new_number
from tests.support.services import envelope

pytestmark = pytest.mark.integration

TRANSFERRED = ["view", "order", "cancel", "technical_change", "billing_question"]


async def _linked_company(contracts, name: str, *contract_list, kind: str = "landline"):
    number = new_number()
    password = await contracts.issue_number(number, kind=kind, contracts=list(contract_list))
    admin = await contracts.company(name)
    status, body = await contracts.link(admin, number, password)
    assert status == 201, body
    return admin, number


async def test_festnetz_berechtigungen_uebertragen_gives_every_right_but_commercial_contact(
        contracts):
    """Seed 001 "Festnetz-Berechtigungen übertragen": search the other master administrator by
    email and their mobile customer number, tick access numbers, save → they hold every right
    except "commercial contact"; removing the tick and saving revokes it."""
    anna, landline = await _linked_company(
        contracts, "Muster GmbH", contract("K-1", "CompanyFlex", access_number="+4930100"),
        contract("K-2", "Cloud PBX", access_number="+4930200"))
    bela, mobile = await _linked_company(contracts, "Partner Kft.",
                                         contract("M-9", "Business Mobil M"), kind="mobile")
    search = {"email": bela.email.upper(), "customer_number": mobile, "kind": "mobile"}

    status, found = await contracts.call("POST", "/v1/permission-transfers/search",
                                         anna.token, json=search)
    assert status == 200, found
    assert found["administrator"]["user_id"] == bela.user_id
    assert [(c["access_number"], c["transferred"]) for c in found["contracts"]] == [
        ("+4930100", False), ("+4930200", False)]
    assert "commercial_contact" not in found["rights"]

    status, saved = await contracts.call("PUT", "/v1/permission-transfers", anna.token,
                                         json={**search, "contract_ids": ["K-1"]})
    assert status == 200, saved
    assert [(c["contract_id"], c["transferred"]) for c in saved["contracts"]] == [
        ("K-1", True), ("K-2", False)]
    theirs = await contracts.contracts_of(bela)
    assert sorted(theirs) == ["K-1", "M-9"]
    assert theirs["K-1"]["rights"] == TRANSFERRED and theirs["K-1"]["via"] == "transfer"
    event = await contracts.tap.wait_for("contracts.permissions.transferred.v1",
                                         contract_id="K-1")
    assert event["data"]["to_admin_email"] == bela.email.lower()
    assert event["data"]["from_company_id"] == anna.company_id
    assert event["data"]["customer_number"] == landline
    assert "commercial_contact" not in event["data"]["rights"]
    assert sorted(await contracts.contracts_of(anna)) == ["K-1", "K-2"]  # Anna keeps hers

    status, saved = await contracts.call("PUT", "/v1/permission-transfers", anna.token,
                                         json={**search, "contract_ids": []})
    assert status == 200 and not any(c["transferred"] for c in saved["contracts"])
    assert sorted(await contracts.contracts_of(bela)) == ["M-9"]
    await contracts.tap.wait_for("contracts.permissions.revoked.v1", contract_id="K-1",
                                 to_company_id=bela.company_id)
    assert len(contracts.tap.of("contracts.permissions.transferred.v1")) == 1


async def test_transfer_target_must_already_hold_rights_for_the_customer_number_given(
        contracts):
    """CON-5: the target is found only by their email together with a customer number their
    company holds rights for; one's own company is no target."""
    anna, landline = await _linked_company(contracts, "Muster GmbH", contract("K-1"))
    bela, mobile = await _linked_company(contracts, "Partner Kft.", contract("M-1"),
                                         kind="mobile")
    newcomer = await contracts.company("Neu GmbH")  # holds no customer number at all
    colleague = await contracts.user(anna.company_id, ["company_admin"])
    cases = [
        ({"email": newcomer.email, "customer_number": mobile, "kind": "mobile"}, 404,
         "master-administrator-not-found"),
        ({"email": bela.email, "customer_number": landline, "kind": "landline"}, 404,
         "master-administrator-not-found"),
        ({"email": bela.email, "customer_number": mobile, "kind": "landline"}, 404,
         "master-administrator-not-found"),
        ({"email": "nobody@example.com", "customer_number": mobile, "kind": "mobile"}, 404,
         "master-administrator-not-found"),
        ({"email": colleague.email, "customer_number": landline, "kind": "landline"}, 409,
         "transfer-within-company"),
    ]
    for search, status_wanted, slug in cases:
        status, body = await contracts.call("POST", "/v1/permission-transfers/search",
                                             anna.token, json=search)
        assert (status, body["type"]) == (status_wanted, f"/problems/{slug}"), search
    status, body = await contracts.call("PUT", "/v1/permission-transfers", anna.token, json={
        "email": bela.email, "customer_number": mobile, "kind": "mobile",
        "contract_ids": ["M-1"]})
    assert status == 422 and body["type"] == "/problems/contracts-not-transferable"
    assert body["contract_ids"] == ["M-1"]


async def test_transferred_rights_end_when_the_giving_company_unlinks_the_number(contracts):
    anna, landline = await _linked_company(contracts, "Muster GmbH", contract("K-1"))
    bela, mobile = await _linked_company(contracts, "Partner Kft.", contract("M-1"),
                                         kind="mobile")
    status, _ = await contracts.call("PUT", "/v1/permission-transfers", anna.token, json={
        "email": bela.email, "customer_number": mobile, "kind": "mobile",
        "contract_ids": ["K-1"]})
    assert status == 200
    assert "K-1" in await contracts.contracts_of(bela)
    assert (await contracts.call("DELETE", f"/v1/links/{landline}", anna.token))[0] == 204
    assert "K-1" not in await contracts.contracts_of(bela)


async def test_sub_administrator_sees_and_manages_only_the_contracts_assigned(contracts):
    """CON-6 (seed 001 "Administrationsrecht ... einem Unteradministrator übertragen"): the
    master administrator assigns contracts and rights; the sub-administrator sees exactly those."""
    anna, _ = await _linked_company(contracts, "Muster GmbH", contract("K-1"), contract("K-2"),
                                    contract("K-3"))
    sub = await contracts.user(anna.company_id, ["sub_admin"])
    path = f"/v1/sub-administrators/{sub.user_id}/contracts"
    assert await contracts.contracts_of(sub) == {}

    status, body = await contracts.call("PUT", path, anna.token, json={"contracts": [
        {"contract_id": "K-1", "rights": ["view", "technical_change"]},
        {"contract_id": "K-3"}]})
    assert status == 200, body
    mine = await contracts.contracts_of(sub)
    assert sorted(mine) == ["K-1", "K-3"]
    assert mine["K-1"]["rights"] == ["view", "technical_change"]
    assert "commercial_contact" not in mine["K-3"]["rights"]
    status, body = await contracts.call("GET", "/v1/contracts/K-2", sub.token)
    assert status == 404 and body["type"] == "/problems/contract-not-found"
    status, body = await contracts.call("GET", "/v1/contracts/K-1", sub.token)
    assert status == 200 and body["via"] == "assignment"
    # Sub-administrators do not assign, link or transfer.
    assert (await contracts.call("PUT", path, sub.token, json={"contracts": []}))[0] == 403

    status, body = await contracts.call("PUT", path, anna.token,
                                        json={"contracts": [{"contract_id": "K-2"}]})
    assert status == 200
    assert sorted(await contracts.contracts_of(sub)) == ["K-2"]
    status, body = await contracts.call("GET", path, anna.token)
    assert [c["contract_id"] for c in body["contracts"]] == ["K-2"]


async def test_only_contracts_and_rights_the_company_holds_can_be_assigned(contracts):
    anna, _number = await _linked_company(contracts, "Muster GmbH", contract("K-1"))
    sub = await contracts.user(anna.company_id, ["sub_admin"])
    plain = await contracts.user(anna.company_id, ["user"])
    path = f"/v1/sub-administrators/{sub.user_id}/contracts"
    status, body = await contracts.call("PUT", path, anna.token, json={"contracts": [
        {"contract_id": "K-404"}]})
    assert status == 422 and body["type"] == "/problems/contracts-not-assignable"
    status, body = await contracts.call("PUT", path, anna.token, json={"contracts": [
        {"contract_id": "K-1", "rights": ["fly"]}]})
    assert status == 422 and body["errors"][0]["field"] == "contracts.0.rights.0"
    for user_id in (plain.user_id, f"u-{uuid.uuid4().hex[:6]}"):
        status, body = await contracts.call(
            "PUT", f"/v1/sub-administrators/{user_id}/contracts", anna.token,
            json={"contracts": []})
        assert status == 404 and body["type"] == "/problems/sub-administrator-not-found"


async def test_a_user_made_sub_administrator_later_can_be_assigned_contracts(contracts):
    """The local projection follows identity's role changes (identity.user.role_changed.v1)."""
    anna, _ = await _linked_company(contracts, "Muster GmbH", contract("K-1"))
    user = await contracts.user(anna.company_id, ["user"])
    await contracts.deliver(envelope("identity.user.role_changed.v1", {
        "user_id": user.user_id, "company_id": anna.company_id, "email": user.email,
        "roles": ["sub_admin"], "permissions": []}, company_id=anna.company_id))
    status, body = await contracts.call(
        "PUT", f"/v1/sub-administrators/{user.user_id}/contracts", anna.token,
        json={"contracts": [{"contract_id": "K-1"}]})
    assert status == 200, body
