"""Faults lose nothing: an event a consumer rejected or failed on is parked without a trace of
having been applied, so after the operator fixed the cause, `parked replay` applies it —
exactly once. One test per consumed event type that can be rejected or fail for a cause an
operator can fix."""

from __future__ import annotations

import pytest

from shared import ops
from shared.app_keys import DB
from shared.auth import COMPANY_ADMIN
from shared.bus import Topology
from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.services import consumed, envelope, publish

pytestmark = pytest.mark.integration

SEPA = {"kind": "sepa_debit", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "account_holder": "Muster GmbH", "mandate_accepted": True}


async def _parked_ids(amqp_url: str, topology: Topology) -> set[str]:
    return {p.message_id for p in await ops.list_parked(amqp_url, topology)}


async def _replay(amqp_url: str, topology: Topology, message_id: str) -> None:
    await ops.replay(amqp_url, topology, ids=[message_id])


def _company_registered(company_id: str) -> dict:
    return envelope("identity.company.registered.v1", {
        "company_id": company_id, "company_name": f"{company_id} GmbH", "admin_user_id": "u-1",
        "admin_email": "anna@example.com", "admin_first_name": "Anna", "admin_surname": "M",
        "admin_phone": "+36301234567", "language": "de"}, company_id=company_id,
        source="/services/identity")


async def test_a_credit_check_answer_parked_for_a_lost_request_applies_once_replayed(
        billing, amqp_url, bus_prefix, unique):
    server, authority, http = billing.server, billing.authority, billing.http
    topology = Topology(bus_prefix, "billing")
    company = f"c-{unique}"
    accounts = server.app[DB]["accounts"]
    await publish(amqp_url, bus_prefix, _company_registered(company))
    await eventually(lambda: accounts.find_one({"_id": company}))
    admin = authority.headers(company_id=company, roles=[COMPANY_ADMIN], sub="admin-1")
    url = str(server.make_url("/v1/payment-methods"))
    async with EventTap(amqp_url, bus_prefix, "billing.#") as tap:
        async with http.post(url, json=SEPA, headers=admin) as r:
            method = await r.json()
            assert r.status == 201, method
        request = await tap.wait_for("billing.credit_check.requested.v1",
                                     payment_method_id=method["id"])
        # The cause: the account lost the pending request (say, restored from a backup taken
        # a moment earlier), so the provider's answer fits nothing and is parked.
        saved = await accounts.find_one({"_id": company})
        original = [dict(m) for m in saved["payment_methods"]]
        for m in saved["payment_methods"]:
            if m["id"] == method["id"]:
                m["credit_check_request_id"] = "lost"
        await accounts.replace_one({"_id": company}, saved)
        answer = envelope("creditcheck.result.v1", {
            "request_id": request["data"]["request_id"], "company_id": company,
            "payment_method_id": method["id"], "outcome": "approved", "reason": None},
            source="/credit-check")
        await publish(amqp_url, bus_prefix, answer)
        await eventually(lambda: _has(amqp_url, topology, answer["id"]), seconds=20)

        # The operator repairs the account and replays: the answer now applies, once.
        repaired = await accounts.find_one({"_id": company})
        repaired["payment_methods"] = original
        await accounts.replace_one({"_id": company}, repaired)
        await _replay(amqp_url, topology, answer["id"])
        activated = await tap.wait_for("billing.payment_method.activated.v1",
                                       payment_method_id=method["id"])
        assert activated["data"]["payment_method_id"] == method["id"]
        await _replay_again_is_harmless(amqp_url, bus_prefix, answer, server)
        assert len(tap.of("billing.payment_method.activated.v1",
                                payment_method_id=method["id"])) == 1
    async with http.get(url, headers=admin) as r:
        methods = await r.json()
    assert methods["active_payment_method_id"] == method["id"]


async def _replay_again_is_harmless(amqp_url, bus_prefix, answer, server) -> None:
    """The same answer delivered once more (a second replay) has no second effect."""
    from tests.support.services import consumed
    before = consumed(server.app, "creditcheck.result.v1")
    await publish(amqp_url, bus_prefix, answer)
    await eventually(lambda: consumed(server.app, "creditcheck.result.v1") > before)


async def _has(amqp_url: str, topology: Topology, message_id: str) -> bool:
    return message_id in await _parked_ids(amqp_url, topology)


async def test_an_invoice_for_a_company_billing_does_not_know_yet_is_recorded_once_replayed(
        billing, amqp_url, bus_prefix, unique):
    server, authority, http = billing.server, billing.authority, billing.http
    topology = Topology(bus_prefix, "billing")
    company = f"c-{unique}"
    invoice = envelope("invoicing.invoice.issued.v1", {
        "invoice_id": f"inv-{unique}", "company_id": company, "number": "R-2026-0001",
        "issued_at": "2026-11-01T10:00:00+00:00", "due_date": "2026-11-15", "currency": "EUR",
        "amount_minor": 1000, "customer_number": None,
        "lines": [{"description": "Cloud PBX", "quantity": 1, "unit_price_minor": 1000,
                   "amount_minor": 1000}]}, company_id=company, source="/invoicing")
    await publish(amqp_url, bus_prefix, invoice)
    await eventually(lambda: _has(amqp_url, topology, invoice["id"]), seconds=30)
    invoices = server.app[DB]["invoices"]
    assert await invoices.count_documents({"company_id": company}) == 0

    # The cause is fixed: the company's registration arrives; the invoice is replayed.
    await publish(amqp_url, bus_prefix, _company_registered(company))
    await eventually(lambda: server.app[DB]["accounts"].find_one({"_id": company}))
    await _replay(amqp_url, topology, invoice["id"])
    await eventually(lambda: invoices.find_one({"company_id": company}))
    await publish(amqp_url, bus_prefix, invoice)  # and once more: no second invoice
    admin = authority.headers(company_id=company, roles=[COMPANY_ADMIN], sub="admin-1")
    await eventually(lambda: _consumed_twice(server))
    async with http.get(str(server.make_url("/v1/invoices")), headers=admin) as r:
        listed = await r.json()
    assert [i["invoice_id"] for i in listed["items"]] == [f"inv-{unique}"]


def _consumed_twice(server) -> bool:
    return consumed(server.app, "invoicing.invoice.issued.v1") >= 2


async def test_a_contract_event_ahead_of_its_customer_number_applies_once_replayed(
        contracts, amqp_url, bus_prefix, unique):
    server, topology = contracts.server, Topology(bus_prefix, "contracts")
    number = f"7{int(unique, 16) % 10**9:09d}"
    contract = {"contract_id": f"K-{unique}", "product": "Cloud PBX", "status": "active",
                "segment": "business", "access_number": "+4930123456"}
    added = envelope("crm.contract.added.v1", {"customer_number": number,
                                               "contract": contract}, source="/crm")
    await publish(amqp_url, bus_prefix, added)
    await eventually(lambda: _has(amqp_url, topology, added["id"]), seconds=30)

    # The cause is fixed: the CRM's customer-number event arrives; the contract is replayed.
    await publish(amqp_url, bus_prefix, envelope("crm.customer_number.issued.v1", {
        "customer_number": number, "kind": "landline", "segment": "business",
        "holder_name": "Muster GmbH", "contact_email": "anna@example.com", "language": "de",
        "contracts": []}, source="/crm"))
    numbers = server.app[DB]["customer_numbers"]
    await eventually(lambda: numbers.find_one({"_id": number}))
    await _replay(amqp_url, topology, added["id"])

    async def contract_there() -> bool:
        doc = await numbers.find_one({"_id": number})
        return [c["contract_id"] for c in doc["contracts"]] == [contract["contract_id"]]

    await eventually(contract_there)
    assert added["id"] in (await numbers.find_one({"_id": number}))["applied_events"]
