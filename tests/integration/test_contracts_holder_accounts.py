"""Seed 004 in contracts: the CRM's changes to a number's holder name and reference address
reach the next one-time-password email (issue 11, part 5), and the account identity opened for
a holder who proved the reference address becomes the number's contract holder."""

from __future__ import annotations

import pytest

from shared.app_keys import DB
from tests.support.contracts import OTP_ISSUED, new_number
from tests.support.polling import eventually
from tests.support.services import envelope

pytestmark = pytest.mark.integration

CHANGED = "crm.customer_number.changed.v1"
CLAIMED = "identity.customer_number.claimed.v1"
LINKED = "contracts.customer_number.linked.v1"


def crm_changed(number: str, **fields: str) -> dict:
    return envelope(CHANGED, {"customer_number": number, **fields}, source="/crm")


async def test_seed004_crm_change_of_holder_and_reference_address_reaches_the_next_password_email(
        contracts):
    number = new_number()
    await contracts.issue_number(number, email="old@muster.example")
    change = crm_changed(number, holder_name="Muster & Söhne GmbH",
                         contact_email="Office@Muster.example")
    await contracts.deliver(change, change)  # delivered twice: one effect
    # A company locks itself out of the password: support may then issue a new one.
    guesser = await contracts.company("Rate GmbH")
    for _ in range(3):
        status, _ = await contracts.link(guesser, number, "WRONG2345678")
        assert status == 422
    status, body = await contracts.call(
        "POST", f"/v1/support/customer-numbers/{number}/one-time-password",
        contracts.support_token())
    assert status == 201, body
    await eventually(lambda: len(contracts.tap.of(OTP_ISSUED, customer_number=number)) == 2)
    first, second = [e["data"] for e in contracts.tap.of(OTP_ISSUED, customer_number=number)]
    assert (first["contact_email"], first["holder_name"]) == ("old@muster.example",
                                                             "Muster GmbH")
    assert second["contact_email"].lower() == "office@muster.example"
    assert second["holder_name"] == "Muster & Söhne GmbH"


async def test_seed004_an_older_crm_change_arriving_late_does_not_undo_a_newer_one(contracts):
    number = new_number()
    await contracts.issue_number(number, email="old@muster.example")
    older = crm_changed(number, contact_email="older@muster.example")
    newer = crm_changed(number, contact_email="newer@muster.example")
    await contracts.deliver(newer)
    await contracts.deliver(older)
    doc = await contracts.app[DB]["customer_numbers"].find_one({"_id": number})
    assert doc["contact_email"] == "newer@muster.example"


async def test_seed004_account_opened_for_the_holder_becomes_contract_holder_once(contracts):
    """identity's claim, delivered twice, links the number once as holder, names the user who
    logs in with it, and uses up the one-time password."""
    number = new_number()
    password = await contracts.issue_number(number)
    holder = await contracts.company("Muster GmbH")
    claim = envelope(CLAIMED, {"company_id": holder.company_id, "user_id": holder.user_id,
                               "customer_number": number},
                     company_id=holder.company_id, source="/services/identity")
    await contracts.deliver(claim, claim)
    linked = await contracts.tap.wait_for(LINKED, customer_number=number)
    assert linked["data"]["link_type"] == "holder"
    assert linked["data"]["company_id"] == holder.company_id
    assert linked["data"]["linked_by"] == holder.user_id
    status, links = await contracts.call("GET", "/v1/links", holder.token)
    assert status == 200 and [x["customer_number"] for x in links["links"]] == [number]
    assert len(contracts.tap.of(LINKED, customer_number=number)) == 1
    # Nobody else links it with the letter's password any more.
    other = await contracts.company("Andere GmbH")
    status, body = await contracts.link(other, number, password)
    assert status == 409, body


async def test_seed004_claim_of_a_number_another_company_holds_changes_nothing(contracts):
    number = new_number()
    password = await contracts.issue_number(number)
    first = await contracts.company("Erste GmbH")
    status, _ = await contracts.link(first, number, password)
    assert status == 201
    late = await contracts.company("Muster GmbH")
    await contracts.deliver(envelope(CLAIMED, {
        "company_id": late.company_id, "user_id": late.user_id, "customer_number": number},
        company_id=late.company_id, source="/services/identity"))
    doc = await contracts.app[DB]["customer_numbers"].find_one({"_id": number})
    assert doc["holder_company_id"] == first.company_id
    status, links = await contracts.call("GET", "/v1/links", late.token)
    assert status == 200 and links["links"] == []
