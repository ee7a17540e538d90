"""Seed 002 in billing: a mobile-number login reads the invoices and online invoices of the
customer numbers its number runs under, when its company allows it (ID-6). billing learns
which numbers those are from contracts' link events (``access_numbers``), never another
company's."""

from __future__ import annotations

import pytest

from shared.app_keys import DB
from tests.support.billing import invoice
from tests.support.polling import eventually
from tests.support.services import consumed, envelope

pytestmark = pytest.mark.integration

PHONE = "+36301234567"
LINKED = "contracts.customer_number.linked.v1"
ISSUED = "invoicing.invoice.issued.v1"


def linked(company_id: str, number: str, *access_numbers: str, kind: str = "mobile") -> dict:
    return envelope(LINKED, {
        "company_id": company_id, "customer_number": number, "kind": kind,
        "link_type": "holder", "contract_ids": [f"K-{n}" for n in access_numbers],
        "access_numbers": list(access_numbers)},
        company_id=company_id, source="/services/contracts")


def phone_login(billing, company_id: str, phone: str = PHONE,
                perms: tuple[str, ...] = ("own_number:invoices",)) -> dict:
    return billing.authority.headers(company_id=company_id, roles=[], perms=list(perms),
                                     amr=["sms"], phone=phone)


async def setup(billing, company_id: str, events: list[dict]) -> None:
    before = {t: consumed(billing.app, t) for t in (LINKED, ISSUED)}
    await billing.publish(*events)
    await eventually(lambda: all(
        consumed(billing.app, t) >= before[t] + sum(1 for e in events if e["type"] == t)
        for t in (LINKED, ISSUED)))


async def test_seed002_phone_login_reads_the_invoices_of_its_numbers_customer_number(
        billing, company):
    await setup(billing, company, [
        # The number as the CRM wrote it, nationally: still the login's number.
        linked(company, "3000000001", "06301234567", "+36309999999"),
        linked(company, "3000000002", "+36309999999", kind="landline"),
        invoice(company, 1, customer_number="3000000001"),
        invoice(company, 2, customer_number="3000000002"),
        invoice(company, 3)])
    token = phone_login(billing, company)
    status, page = await billing.call("GET", "/v1/invoices", token)
    assert status == 200, page
    assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]
    status, page = await billing.call("GET", "/v1/online-invoices", token)
    assert status == 200, page
    assert page["customer_numbers"] == ["3000000001"]
    assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]
    status, problem = await billing.call("GET", "/v1/online-invoices?customer_number=3000000002",
                                         token)
    assert status == 422 and problem["errors"][0]["field"] == "query.customer_number"
    # Nothing of the company's billing administration.
    status, problem = await billing.call("GET", "/v1/payment-methods", token)
    assert status == 403 and problem["type"] == "/problems/phone-login-scope"


async def test_seed002_phone_login_is_refused_invoices_the_administrator_switched_off(
        billing, company):
    await setup(billing, company, [linked(company, "3000000001", PHONE),
                                   invoice(company, 1, customer_number="3000000001")])
    token = phone_login(billing, company, perms=("own_number:read",))
    for path in ("/v1/invoices", "/v1/online-invoices"):
        status, problem = await billing.call("GET", path, token)
        assert status == 403, path
        assert problem["type"] == "/problems/phone-login-permission"


async def test_seed002_phone_login_never_reads_another_companys_invoices(billing, company,
                                                                        unique):
    other = f"other-{unique}"
    await billing.open_company(other, "bob@other.example")
    await setup(billing, company, [
        linked(company, "3000000001", PHONE), linked(other, "3000000009", "+36701112233"),
        invoice(company, 1, customer_number="3000000001"),
        invoice(other, 9, customer_number="3000000009")])
    # The other company's number on my company's token, my number on the other's: nothing.
    for token in (phone_login(billing, company, phone="+36701112233"),
                  phone_login(billing, other, phone=PHONE)):
        for path in ("/v1/invoices", "/v1/online-invoices"):
            status, page = await billing.call("GET", path, token)
            assert status == 200 and page["items"] == [], path


async def test_seed002_link_event_twice_or_late_leaves_the_newest_access_numbers(
        billing, company):
    first = linked(company, "3000000001", PHONE)
    await setup(billing, company, [first, first, invoice(company, 1,
                                                        customer_number="3000000001")])
    token = phone_login(billing, company)
    _, page = await billing.call("GET", "/v1/invoices", token)
    assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]
    # The contract moved to another number: the next link event no longer lists it.
    await setup(billing, company, [linked(company, "3000000001", "+36309999999")])
    _, page = await billing.call("GET", "/v1/invoices", token)
    assert page["items"] == []
    await setup(billing, company, [first])  # the older event again changes nothing
    _, page = await billing.call("GET", "/v1/invoices", token)
    assert page["items"] == []
    doc = await billing.app[DB]["customer_numbers"].find_one(
        {"_id": f"{company}:3000000001"})
    assert doc["access_numbers"] == ["+36309999999"]
