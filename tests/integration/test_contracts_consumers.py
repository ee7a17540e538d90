"""contracts' consumers: every consumed event type delivered twice has one effect (PLT-2),
malformed CRM events are parked with the reason and the consumer keeps going (PLT-3), and one
company never sees or changes another's links, contracts or contacts (tenant isolation)."""

from __future__ import annotations

import json

import aio_pika
import pytest

from shared.app_keys import DB
from tests.support.contracts import (
    ADDED,
    CHANGED,
    ISSUED,
    OTP_ISSUED,
    TERMINATED,
    contract,
    crm_contract,
    crm_issued,
    new_number,
    user_activated,
)
from tests.support.polling import eventually
from tests.support.services import envelope, publish

pytestmark = pytest.mark.integration


async def test_every_crm_event_delivered_twice_has_one_effect(contracts):
    """CON-1: a redelivered customer number issues no second password; redelivered contract
    events change nothing more."""
    number = new_number()
    issued = crm_issued(number, contracts=[contract("K-1")])
    await contracts.deliver(issued, issued)
    await contracts.tap.wait_for(OTP_ISSUED, customer_number=number)
    for etype, c in ((ADDED, contract("K-2", "Cloud PBX")),
                     (CHANGED, contract("K-2", "SIP-Trunk")),
                     (TERMINATED, contract("K-1", status="terminated"))):
        event = crm_contract(etype, number, c)
        await contracts.deliver(event, event)
    docs = await contracts.app[DB]["customer_numbers"].find({}).to_list(None)
    assert [d["_id"] for d in docs] == [number]
    by_id = {c["contract_id"]: c for c in docs[0]["contracts"]}
    assert sorted(by_id) == ["K-1", "K-2"]
    assert by_id["K-2"]["product"] == "SIP-Trunk" and by_id["K-1"]["status"] == "terminated"
    assert len(contracts.tap.of(OTP_ISSUED, customer_number=number)) == 1
    assert contracts.consumed(ISSUED) == 2


async def test_every_identity_event_delivered_twice_has_one_effect(contracts):
    """The local projection of identity's users (for CON-5…CON-7) absorbs redeliveries."""
    company = "c-dup"
    registered = envelope("identity.company.registered.v1", {
        "company_id": company, "company_name": "Muster GmbH", "admin_user_id": "u-admin",
        "admin_email": "Anna@Example.com", "admin_first_name": "Anna",
        "admin_surname": "Muster", "admin_phone": "+36301234567", "language": "de"},
        company_id=company)
    activated = user_activated(company, "u-1", "bela@example.com", ["user"])
    steps = [
        registered, activated,
        envelope("identity.user.role_changed.v1", {
            "user_id": "u-1", "company_id": company, "email": "bela@example.com",
            "roles": ["sub_admin"], "permissions": ["contracts"]}),
        envelope("identity.email.changed.v1", {
            "user_id": "u-1", "company_id": company, "old_email": "bela@example.com",
            "new_email": "bela.k@example.com", "language": "hu"}),
        envelope("identity.user.deactivated.v1", {
            "user_id": "u-1", "company_id": company, "email": "bela.k@example.com"}),
        envelope("identity.user.reactivated.v1", {
            "user_id": "u-1", "company_id": company, "email": "bela.k@example.com"}),
    ]
    users = contracts.app[DB]["users"]
    for step in steps:
        await contracts.deliver(step, step)
    # A late redelivery of "deactivated" is recognised as applied, not replayed.
    await contracts.deliver(steps[4])
    bela = await users.find_one({"_id": "u-1"})
    assert (bela["email"], bela["roles"], bela["active"]) == (
        "bela.k@example.com", ["sub_admin"], True)
    assert len([e for e in bela["applied_events"] if e == steps[4]["id"]]) == 1
    admin = await users.find_one({"_id": "u-admin"})
    assert admin["email"] == "anna@example.com" and admin["roles"] == ["company_admin"]
    spaces = await contracts.app[DB]["contract_spaces"].find({}).to_list(None)
    assert [s["_id"] for s in spaces] == [company]


async def test_an_older_identity_event_arriving_late_does_not_undo_a_newer_one(contracts):
    """A retried "activated" delivered after "deactivated" leaves the user deactivated."""
    company = "c-late"
    activated = user_activated(company, "u-7", "cili@example.com", ["company_admin"])
    deactivated = envelope("identity.user.deactivated.v1", {
        "user_id": "u-7", "company_id": company, "email": "cili@example.com"})
    await contracts.deliver(deactivated)
    await contracts.deliver(activated)  # older (made first), applied last
    assert activated["time"] < deactivated["time"]
    cili = await contracts.app[DB]["users"].find_one({"_id": "u-7"})
    assert cili["active"] is False or cili["active"] == 0
    assert cili["email"] == "cili@example.com" and cili["roles"] == ["company_admin"]


async def _parked(contracts) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(contracts.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{contracts.bus_prefix}.contracts.parked",
                                            passive=True)
        out = []
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            out.append(message)
        return out
    finally:
        await connection.close()


async def test_malformed_crm_events_are_parked_with_the_reason_and_the_rest_goes_on(contracts):
    """PLT-3: an event that does not match the CRM's schema, or can never be applied, waits in
    the parking queue with the reason; the next good event is processed."""
    number = new_number()
    no_kind = crm_issued(number)
    del no_kind["data"]["kind"]
    bad_email = crm_issued(new_number())
    bad_email["data"]["contact_email"] = "not-an-email"
    twice = crm_issued(new_number(), contracts=[contract("K-1"), contract("K-1")])
    still_active = crm_contract(TERMINATED, number, contract("K-1"))  # says "active"
    await publish(contracts.amqp_url, contracts.bus_prefix, no_kind, bad_email, twice)
    await eventually(lambda: contracts.parked() >= 3)
    good = crm_issued(number)
    await contracts.deliver(good)
    await publish(contracts.amqp_url, contracts.bus_prefix, still_active)
    await eventually(lambda: contracts.parked() >= 4)

    parked = {m.message_id: m for m in await _parked(contracts)}
    assert set(parked) == {no_kind["id"], bad_email["id"], twice["id"], still_active["id"]}
    reason = {i: (m.headers["x-park-reason"], m.headers["x-park-detail"])
              for i, m in parked.items()}
    assert reason[no_kind["id"]][0] == "invalid-data" and "kind" in reason[no_kind["id"]][1]
    assert reason[bad_email["id"]][0] == "invalid-data"
    assert "contact_email" in reason[bad_email["id"]][1]
    assert reason[twice["id"]][0] == "rejected" and "twice" in reason[twice["id"]][1]
    assert reason[still_active["id"]][0] == "rejected"
    assert "terminated" in reason[still_active["id"]][1]
    assert json.loads(parked[no_kind["id"]].body)["id"] == no_kind["id"]
    doc = await contracts.app[DB]["customer_numbers"].find_one({"_id": number})
    assert doc["contracts"][0]["status"] == "active"


async def test_one_company_never_sees_or_changes_another_companys_contracts(contracts):
    """Tenant isolation: links, contracts, contacts, assignments and transfers of company A
    are out of reach of company B's master administrator."""
    number = new_number()
    password = await contracts.issue_number(number, contracts=[contract("K-1")])
    anna = await contracts.company("Muster GmbH")
    assert (await contracts.link(anna, number, password))[0] == 201
    eve = await contracts.company("Eve GmbH")
    eve_sub = await contracts.user(eve.company_id, ["sub_admin"])
    anna_sub = await contracts.user(anna.company_id, ["sub_admin"])

    assert (await contracts.call("GET", "/v1/links", eve.token))[1] == {"links": []}
    assert await contracts.contracts_of(eve) == {}
    assert (await contracts.call("GET", "/v1/contracts/K-1", eve.token))[0] == 404
    status, space = await contracts.call("GET", "/v1/contract-space", eve.token)
    assert status == 200 and space["customer_numbers"] == []
    assert (await contracts.call("DELETE", f"/v1/links/{number}", eve.token))[0] == 404
    contacts_path = f"/v1/customer-numbers/{number}/authorised-contacts"
    assert (await contracts.call("GET", contacts_path, eve.token))[0] == 404
    status, _ = await contracts.call(
        "PUT", f"/v1/sub-administrators/{eve_sub.user_id}/contracts", eve.token,
        json={"contracts": [{"contract_id": "K-1"}]})
    assert status == 422
    status, _body = await contracts.call(
        "PUT", f"/v1/sub-administrators/{anna_sub.user_id}/contracts", eve.token,
        json={"contracts": []})
    assert status == 404
    # Anna's link is untouched.
    assert list(await contracts.contracts_of(anna)) == ["K-1"]
