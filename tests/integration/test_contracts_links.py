"""Customer numbers from the CRM, one-time passwords and links (CON-1…CON-4): the steps of seed
001 "Festnetz-Kundennummer verbinden" and the cases of seed 003."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.app_keys import DB
from tests.support.contracts import (
    ADDED,
    CHANGED,
    OTP_ISSUED,
    TERMINATED,
    contract,
    crm_contract,
    new_number,
)
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

ALL_RIGHTS = ["view", "order", "cancel", "technical_change", "billing_question",
              "commercial_contact"]


async def _expire_password(contracts, number: str) -> None:
    """Ten days pass for the number's password (the whole document is written back: the
    emulator stores a datetime set through a path as a string)."""
    coll = contracts.app[DB]["customer_numbers"]
    doc = await coll.find_one({"_id": number})
    doc["otp"]["expires_at"] = datetime.now(UTC) - timedelta(minutes=1)
    doc["version"] += 1
    await coll.replace_one({"_id": number}, doc)


async def test_crm_customer_number_gets_a_one_time_password_valid_10_days_kept_only_hashed(
        contracts):
    """CON-1: the access email's event carries the password; the database only its hash."""
    number = new_number()
    before = datetime.now(UTC)
    password = await contracts.issue_number(number, contracts=[
        contract("K-1", "CompanyFlex"), contract("K-2", "Cloud PBX")])
    event = contracts.tap.of(OTP_ISSUED, customer_number=number)[0]
    assert event["data"]["contact_email"] == "it@muster.example"
    assert event["data"]["holder_name"] == "Muster GmbH" and event["data"]["kind"] == "landline"
    expires = datetime.fromisoformat(event["data"]["expires_at"])
    assert before + timedelta(days=10) <= expires <= datetime.now(UTC) + timedelta(days=10)
    coll = contracts.app[DB]["customer_numbers"]
    doc = await eventually(lambda: coll.find_one({"_id": number, "has_pending": False}))
    assert password not in repr(doc)
    assert len(doc["otp"]["hash"]) == 64 and [c["contract_id"] for c in doc["contracts"]] == [
        "K-1", "K-2"]


async def test_festnetz_kundennummer_verbinden_gives_the_master_administrator_every_contract(
        contracts):
    """Seed 001 "Festnetz-Kundennummer verbinden" (CON-2): the master administrator enters the
    one-time password and the landline customer number from the welcome email and saves; the
    account holds the administration rights for all contracts of that number."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[
        contract("K-1", "CompanyFlex"), contract("K-2", "Cloud PBX"),
        contract("K-3", "SIP-Trunk")])
    admin = await contracts.company()

    status, link = await contracts.link(admin, number, password.lower())  # typed as read
    assert status == 201, link
    assert link["link_type"] == "holder" and link["rights"] == ALL_RIGHTS
    assert sorted(c["contract_id"] for c in link["contracts"]) == ["K-1", "K-2", "K-3"]

    mine = await contracts.contracts_of(admin)
    assert sorted(mine) == ["K-1", "K-2", "K-3"]
    assert all(c["rights"] == ALL_RIGHTS and c["via"] == "holder" for c in mine.values())
    status, space = await contracts.call("GET", "/v1/contract-space", admin.token)
    assert status == 200 and space["customer_numbers"] == [number]
    linked = await contracts.tap.wait_for("contracts.customer_number.linked.v1",
                                          customer_number=number)
    assert linked["data"]["company_id"] == admin.company_id
    assert sorted(linked["data"]["contract_ids"]) == ["K-1", "K-2", "K-3"]
    assert linked["companyid"] == admin.company_id

    # The password was used: linking again (by anyone) is refused with its own problem.
    other = await contracts.company("Andere GmbH")
    status, body = await contracts.link(other, number, password)
    assert status == 409 and body["type"] == "/problems/customer-number-linked-elsewhere"
    status, body = await contracts.link(admin, number, password)
    assert status == 409 and body["type"] == "/problems/already-linked"


async def test_wrong_one_time_password_says_attempts_left_and_locks_after_the_last(contracts):
    """CON-2: wrong passwords are attempt-limited (3 here); even the right one is refused
    once locked, and support issues a new one that works."""
    number = new_number()
    password = await contracts.issue_number(number)
    admin = await contracts.company()
    for left in (2, 1, 0):
        status, body = await contracts.link(admin, number, "WRONG2345678")
        assert status == 422 and body["type"] == "/problems/wrong-one-time-password"
        assert body["attempts_left"] == left
    assert "locked" in body["detail"]
    status, body = await contracts.link(admin, number, password)
    assert status == 429 and body["type"] == "/problems/one-time-password-locked"
    assert "customer service" in body["detail"]

    status, issued = await contracts.call(
        "POST", f"/v1/support/customer-numbers/{number}/one-time-password",
        contracts.support_token())
    assert status == 201, issued
    await eventually(lambda: len(contracts.tap.of(OTP_ISSUED, customer_number=number)) == 2)
    new = contracts.tap.of(OTP_ISSUED, customer_number=number)[-1]["data"]["one_time_password"]
    assert new != password
    status, body = await contracts.link(admin, number, password)
    assert status == 422 and body["attempts_left"] == 2
    status, body = await contracts.link(admin, number, new)
    assert status == 201, body


async def test_many_wrong_passwords_at_once_get_no_more_attempts_than_allowed(contracts):
    """CON-2: the attempt counter is taken atomically: of 12 concurrent guesses exactly 3 are
    checked, the rest are refused as locked, and the password is locked afterwards."""
    number = new_number()
    password = await contracts.issue_number(number)
    admin = await contracts.company()
    results = await asyncio.gather(*(contracts.link(admin, number, f"GUESS{i:07d}")
                                     for i in range(12)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [422] * 3 + [429] * 9
    status, body = await contracts.link(admin, number, password)
    assert status == 429 and body["type"] == "/problems/one-time-password-locked"


async def test_two_companies_linking_one_number_at_once_make_one_holder(contracts):
    number = new_number()
    password = await contracts.issue_number(number)
    first, second = await contracts.company("Eins GmbH"), await contracts.company("Zwei GmbH")
    results = await asyncio.gather(contracts.link(first, number, password),
                                   contracts.link(second, number, password))
    assert sorted(status for status, _ in results) == [201, 409]
    refused = next(body for status, body in results if status == 409)
    assert refused["type"] == "/problems/customer-number-linked-elsewhere"
    doc = await contracts.app[DB]["customer_numbers"].find_one({"_id": number})
    assert len(doc["links"]) == 1 and doc["holder_company_id"] == doc["links"][0]["company_id"]


async def test_one_time_password_used_for_a_user_link_opens_nothing_for_another_company(
        contracts):
    """NOT-4 / CON-2: the password is single-use across companies; the company that linked
    a contract as user may still link the whole number as holder with it (seed 003)."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[
        contract("K-1", access_number="+4930111111"), contract("K-2")])
    first, second = await contracts.company("Eins GmbH"), await contracts.company("Zwei GmbH")
    status, _ = await contracts.link(first, number, password, link_type="user",
                                     access_number="+4930111111")
    assert status == 201
    status, body = await contracts.link(second, number, password, link_type="user",
                                        contract_id="K-2")
    assert status in (409, 410) and body["type"] == "/problems/one-time-password-used"
    status, link = await contracts.link(first, number, password)
    assert status == 201 and link["link_type"] == "holder"


async def test_expired_one_time_password_is_refused_and_support_issues_a_new_one(contracts):
    """Seed 001 "Hinweis": the one-time password is valid 10 days; when it expired, the
    customer service issues a new one (CON-1, CON-2)."""
    number = new_number()
    password = await contracts.issue_number(number)
    admin = await contracts.company()
    support = contracts.support_token()
    status, body = await contracts.call(
        "POST", f"/v1/support/customer-numbers/{number}/one-time-password", support)
    assert status == 409 and body["type"] == "/problems/one-time-password-still-valid"

    await _expire_password(contracts, number)
    status, body = await contracts.link(admin, number, password)
    assert status == 410 and body["type"] == "/problems/one-time-password-expired"
    assert "new one" in body["detail"]

    status, _issued = await contracts.call(
        "POST", f"/v1/support/customer-numbers/{number}/one-time-password", support)
    assert status == 201
    event = await eventually(lambda: contracts.tap.of(OTP_ISSUED, customer_number=number)[1:])
    status, body = await contracts.link(admin, number, event[0]["data"]["one_time_password"])
    assert status == 201, body


async def test_unknown_customer_number_gets_the_answer_of_a_wrong_password(contracts):
    """Issue 9: whether a number exists is not told to a caller without its letter."""
    admin = await contracts.company()
    status, body = await contracts.link(admin, "9999999999", "ABCDEFGHJKMN")
    assert status == 422 and body["type"] == "/problems/wrong-one-time-password"
    assert body["attempts_left"] == 2
    status, body = await contracts.call("POST", "/v1/links", admin.token, json={
        "customer_number": "", "one_time_password": "x"})
    assert status == 422 and {e["field"] for e in body["errors"]} == {
        "customer_number", "one_time_password"}


async def test_seed003_business_contract_is_managed_here_and_private_number_is_refused(
        contracts):
    """Seed 003: business contracts are managed in the business portal; a number with
    private contracts only belongs to the private customer centre (CON-4)."""
    number = new_number()
    password = await contracts.issue_number(number, segment="private", contracts=[
        contract("P-1", "MagentaMobil M", segment="private")], kind="mobile")
    admin = await contracts.company()
    for extra in ({}, {"link_type": "user", "contract_id": "P-1"}):
        status, body = await contracts.link(admin, number, password, **extra)
        assert status == 409 and body["type"] == "/problems/private-customer-number"
        assert "private customer centre" in body["detail"]


async def test_seed003_holder_link_links_every_contract_under_the_number_also_later_ones(
        contracts):
    """Seed 003: linking as contract holder links all contracts of the same customer number,
    and a contract added under it later is covered too (CON-3)."""
    number = new_number()
    password = await contracts.issue_number(number, kind="mobile", contracts=[
        contract("M-1", "Business Mobil L"), contract("M-2", "Business Mobil S")])
    admin = await contracts.company()
    status, _ = await contracts.link(admin, number, password)
    assert status == 201
    await contracts.deliver(crm_contract(ADDED, number, contract("M-3", "Business Mobil XL")))
    assert sorted(await contracts.contracts_of(admin)) == ["M-1", "M-2", "M-3"]
    # Billing hears of the contract the link covers now.
    await eventually(lambda: [e for e in contracts.tap.of(
        "contracts.customer_number.linked.v1", customer_number=number)
        if "M-3" in e["data"]["contract_ids"]])


async def test_seed003_user_link_gives_limited_rights_and_is_replaced_by_a_holder_link(
        contracts):
    """Seed 003: a contract linked only as user ("Nutzer") has limited rights; deleting the
    user link and linking again as contract holder gives full rights on every contract."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[
        contract("K-1", access_number="+4930111111"), contract("K-2")])
    admin = await contracts.company()
    status, link = await contracts.link(admin, number, password, link_type="user",
                                        access_number="+4930111111")
    assert status == 201, link
    assert link["link_type"] == "user" and link["rights"] == ["view", "technical_change"]
    mine = await contracts.contracts_of(admin)
    assert list(mine) == ["K-1"] and mine["K-1"]["via"] == "user"

    status, _ = await contracts.call("DELETE", f"/v1/links/{number}", admin.token)
    assert status == 204
    assert await contracts.contracts_of(admin) == {}
    unlinked = await contracts.tap.wait_for("contracts.customer_number.unlinked.v1",
                                            customer_number=number)
    assert unlinked["data"]["link_type"] == "user"

    status, link = await contracts.link(admin, number, password)
    assert status == 201 and link["link_type"] == "holder"
    mine = await contracts.contracts_of(admin)
    assert sorted(mine) == ["K-1", "K-2"] and mine["K-1"]["rights"] == ALL_RIGHTS


async def test_seed003_holder_link_replaces_a_user_link_directly(contracts):
    """CON-3: "a holder link can replace a user link" — without deleting it first."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[contract("K-1"),
                                                               contract("K-2")])
    admin = await contracts.company()
    assert (await contracts.link(admin, number, password, link_type="user",
                                 contract_id="K-2"))[0] == 201
    status, link = await contracts.link(admin, number, password)
    assert status == 201 and link["link_type"] == "holder"
    status, body = await contracts.call("GET", "/v1/links", admin.token)
    assert [(x["customer_number"], x["link_type"]) for x in body["links"]] == [
        (number, "holder")]


async def test_seed003_contracts_under_two_customer_numbers_need_a_link_each(contracts):
    """Seed 003: contracts on different customer numbers are not linked together."""
    first, second = new_number(), new_number()
    p1 = await contracts.issue_number(first, contracts=[contract("A-1")])
    await contracts.issue_number(second, contracts=[contract("B-1")])
    admin = await contracts.company()
    assert (await contracts.link(admin, first, p1))[0] == 201
    assert list(await contracts.contracts_of(admin)) == ["A-1"]
    status, body = await contracts.link(admin, second, p1)
    assert status == 422 and body["type"] == "/problems/wrong-one-time-password"


async def test_seed003_stale_holder_link_is_marked_deleted_and_the_current_contract_linked(
        contracts):
    """Seed 003: a holder link whose contracts are all terminated is stale; delete it and
    link the current contract's customer number anew (CON-3)."""
    old, current = new_number(), new_number()
    p_old = await contracts.issue_number(old, contracts=[contract("O-1"), contract("O-2")])
    p_new = await contracts.issue_number(current, contracts=[contract("N-1")])
    admin = await contracts.company()
    assert (await contracts.link(admin, old, p_old))[0] == 201
    await contracts.deliver(crm_contract(TERMINATED, old, contract("O-1", status="terminated")))
    _, body = await contracts.call("GET", "/v1/links", admin.token)
    assert body["links"][0]["stale"] is False
    await contracts.deliver(crm_contract(TERMINATED, old, contract("O-2", status="terminated")))
    _, body = await contracts.call("GET", "/v1/links", admin.token)
    assert [(x["customer_number"], x["stale"]) for x in body["links"]] == [(old, True)]

    assert (await contracts.call("DELETE", f"/v1/links/{old}", admin.token))[0] == 204
    assert (await contracts.link(admin, current, p_new))[0] == 201
    _status, body = await contracts.call("GET", "/v1/links", admin.token)
    assert [(x["customer_number"], x["stale"]) for x in body["links"]] == [(current, False)]


async def test_seed003_number_with_private_and_business_contracts_links_only_as_user(contracts):
    """Seed 003 / CON-4: private and business contracts under one number can not be linked as
    contract holder; the problem says what to do, and a business contract links as user."""
    number = new_number()
    password = await contracts.issue_number(number, kind="mobile", contracts=[
        contract("B-1", "Business Mobil M"), contract("P-1", "MagentaMobil S",
                                                      segment="private")])
    admin = await contracts.company()
    status, body = await contracts.link(admin, number, password)
    assert status == 409 and body["type"] == "/problems/mixed-customer-number"
    assert "move the private contracts" in body["detail"] and "as user" in body["detail"]
    status, body = await contracts.link(admin, number, password, link_type="user",
                                        contract_id="P-1")
    assert status == 409 and body["type"] == "/problems/private-customer-number"
    status, body = await contracts.link(admin, number, password, link_type="user",
                                        contract_id="B-1")
    assert status == 201 and body["link_type"] == "user"


async def test_seed003_number_whose_contract_ran_as_private_in_the_past_stays_mixed(contracts):
    """Seed 003: "laufen oder mal liefen" — a contract that moved from the business to the
    private segment, even once terminated, keeps the number from a holder link (CON-4)."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[contract("K-1"),
                                                               contract("K-2")])
    await contracts.deliver(crm_contract(CHANGED, number, contract("K-2", segment="private")))
    await contracts.deliver(crm_contract(TERMINATED, number,
                                         contract("K-2", segment="private", status="terminated")))
    admin = await contracts.company()
    status, body = await contracts.link(admin, number, password)
    assert status == 409 and body["type"] == "/problems/mixed-customer-number"
