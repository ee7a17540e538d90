"""Seed 002 in contracts: a mobile-number login sees the contract(s) of its own number when
its company allows it (ID-6), and the contract space shows each user only the numbers and
contracts the user holds rights on (issue 11 part 5); administrators still see all."""

from __future__ import annotations

import pytest

from tests.support.contracts import (
    Caller,
    contract,
    new_number,
)

pytestmark = pytest.mark.integration

PHONE = "+36301234567"


def phone_login(contracts, company: Caller, phone: str = PHONE,
                perms: tuple[str, ...] = ("own_number:read",)) -> str:
    """The token identity issues for a login with a mobile number (no roles)."""
    return contracts.authority.token(sub=company.user_id, cid=company.company_id, roles=[],
                                     perms=list(perms), amr=["sms"], phone=phone)


async def linked_company(contracts, *contract_list: dict, name: str = "Muster GmbH",
                         kind: str = "mobile") -> tuple[Caller, str]:
    admin = await contracts.company(name)
    number = new_number()
    password = await contracts.issue_number(number, kind=kind, contracts=list(contract_list))
    status, body = await contracts.link(admin, number, password)
    assert status == 201, body
    return admin, number


async def test_seed002_phone_login_sees_only_its_own_numbers_contract(contracts):
    # The CRM may write the number nationally: it is still the login's number.
    admin, number = await linked_company(
        contracts, contract("K-1", "Mobil Flex", access_number="06 30 123 4567"),
        contract("K-2", "Mobil Flex", access_number="+36309999999"),
        contract("K-3", "Mobil Flex", access_number=PHONE, status="terminated"))
    token = phone_login(contracts, admin)
    status, body = await contracts.call("GET", "/v1/contracts", token)
    assert status == 200, body
    assert [(c["contract_id"], c["rights"], c["via"]) for c in body["contracts"]] == [
        ("K-1", ["view"], "phone_login")]
    status, one = await contracts.call("GET", "/v1/contracts/K-1", token)
    assert status == 200 and one["customer_number"] == number
    status, _ = await contracts.call("GET", "/v1/contracts/K-2", token)
    assert status == 404
    status, space = await contracts.call("GET", "/v1/contract-space", token)
    assert status == 200, space
    assert space["customer_numbers"] == [number]
    assert [c["contract_id"] for c in space["contracts"]] == ["K-1"]
    # Still nothing of the company's administration.
    status, problem = await contracts.call("GET", "/v1/links", token)
    assert status == 403 and problem["type"] == "/problems/phone-login-scope"


async def test_seed002_phone_login_is_refused_the_contracts_the_administrator_switched_off(
        contracts):
    admin, _ = await linked_company(contracts, contract("K-1", access_number=PHONE))
    token = phone_login(contracts, admin, perms=("own_number:invoices",))
    for path in ("/v1/contracts", "/v1/contracts/K-1", "/v1/contract-space"):
        status, problem = await contracts.call("GET", path, token)
        assert status == 403, path
        assert problem["type"] == "/problems/phone-login-permission"
        assert problem["required_permissions"] == ["own_number:read"]


async def test_seed002_phone_login_never_sees_another_companys_or_another_numbers_contracts(
        contracts):
    mine, _ = await linked_company(contracts, contract("K-1", access_number=PHONE))
    theirs, their_number = await linked_company(
        contracts, contract("K-9", access_number="+36701112233"), name="Other Kft.")
    # The other company's number on a token of my company, and my number on a token of a
    # company that linked nothing of it: nothing either way.
    for token in (phone_login(contracts, mine, phone="+36701112233"),
                  phone_login(contracts, theirs, phone=PHONE)):
        status, body = await contracts.call("GET", "/v1/contracts", token)
        assert status == 200 and body["contracts"] == []
        status, space = await contracts.call("GET", "/v1/contract-space", token)
        assert space["customer_numbers"] == [] and space["contracts"] == []
    status, _ = await contracts.call("GET", "/v1/contracts/K-9",
                                     phone_login(contracts, mine, phone="+36701112233"))
    assert status == 404
    status, space = await contracts.call("GET", "/v1/contract-space", theirs.token)
    assert space["customer_numbers"] == [their_number]


async def test_contract_space_shows_a_user_only_the_numbers_and_contracts_with_rights(
        contracts):
    admin, first = await linked_company(contracts, contract("K-1"), contract("K-2"),
                                        kind="landline")
    second = new_number()
    password = await contracts.issue_number(second, contracts=[contract("K-5")])
    assert (await contracts.link(admin, second, password))[0] == 201
    user = await contracts.user(admin.company_id, ["user"])
    sub_admin = await contracts.user(admin.company_id, ["sub_admin"])
    status, _ = await contracts.call(
        "PUT", f"/v1/sub-administrators/{sub_admin.user_id}/contracts", admin.token,
        json={"contracts": [{"contract_id": "K-2", "rights": ["view"]}]})
    assert status == 200

    status, space = await contracts.call("GET", "/v1/contract-space", admin.token)
    assert space["customer_numbers"] == sorted([first, second])
    assert {c["contract_id"] for c in space["contracts"]} == {"K-1", "K-2", "K-5"}
    status, space = await contracts.call("GET", "/v1/contract-space", sub_admin.token)
    assert space["customer_numbers"] == [first]
    assert [(c["contract_id"], c["rights"]) for c in space["contracts"]] == [("K-2", ["view"])]
    status, space = await contracts.call("GET", "/v1/contract-space", user.token)
    assert status == 200 and space["customer_numbers"] == [] and space["contracts"] == []
