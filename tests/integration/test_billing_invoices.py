"""Invoices from the invoicing engine (BIL-6), online invoices for linked landline numbers
(BIL-7), and every event billing consumes delivered twice with one effect (PLT-2, PLT-3)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.app_keys import DB
from shared.auth import BILLING_ADMIN, SUB_ADMIN, USER
from tests.support.billing import DETAILS, ISSUED, PAYPAL, invoice, invoices, parked
from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.services import consumed, envelope

pytestmark = pytest.mark.integration

# --- BIL-6 ---------------------------------------------------------------------------------

async def test_bil6_invoice_is_billed_with_the_method_active_when_it_was_issued(billing,
                                                                               company):
    _, first = await billing.add_method(company, PAYPAL)
    _, second = await billing.add_method(company, billing.card("visa", "4242"))
    _, history = await billing.call("GET", "/v1/payment-methods/history",
                                    billing.admin(company))
    at = {e["payment_method_id"]: datetime.fromisoformat(e["at"])
          for e in history["items"] if e["action"] == "activated"}
    between = at[first["id"]] + (at[second["id"]] - at[first["id"]]) / 2
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.invoice.recorded.v1") as tap:
        await billing.publish(invoice(company, 1, issued_at=between),
                              invoice(company, 2, issued_at=at[second["id"]]
                                      + timedelta(seconds=1)))
        notice = await tap.wait_for("billing.invoice.recorded.v1", invoice_id="inv-1")
    assert notice["data"]["payment_method_display"] == "PayPal pay@muster.example"
    assert notice["data"]["invoice_email"] == "anna@example.com"  # no billing details yet
    assert notice["data"]["amount_minor"] == 4990 and notice["data"]["currency"] == "EUR"
    await eventually(lambda: consumed(billing.app, ISSUED) >= 2)
    _, page = await invoices(billing, company)
    by_id = {i["invoice_id"]: i for i in page["items"]}
    assert by_id["inv-1"]["payment_method"]["id"] == first["id"]
    assert by_id["inv-2"]["payment_method"]["id"] == second["id"]
    assert by_id["inv-2"]["payment_method"]["display"] == "Visa •••• 4242"


async def test_bil6_invoice_notice_goes_to_the_invoice_email_of_the_billing_details(
        billing, company):
    await billing.call("PUT", "/v1/billing-details", billing.admin(company), DETAILS)
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.invoice.recorded.v1") as tap:
        await billing.publish(invoice(company, 7))
        notice = await tap.wait_for("billing.invoice.recorded.v1")
    assert notice["data"]["invoice_email"] == "rechnung@muster.example"
    assert notice["data"]["language"] == "de"
    assert notice["data"]["payment_method_display"] == "—"


async def test_bil6_invoices_are_listed_newest_first_with_cursor_pagination(billing, company):
    base = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    await billing.publish(*(invoice(company, n, issued_at=base + timedelta(days=n))
                            for n in range(1, 8)))
    await eventually(lambda: consumed(billing.app, ISSUED) >= 7)
    seen, cursor = [], None
    while True:
        status, page = await invoices(billing, company, limit=3,
                                      **({"cursor": cursor} if cursor else {}))
        assert status == 200
        seen += [i["invoice_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"inv-{n}" for n in range(7, 0, -1)]
    status, problem = await invoices(billing, company, limit=0)
    assert status == 422 and problem["errors"][0]["field"] == "query.limit"


async def test_bil6_invoice_delivered_twice_is_stored_and_announced_once(billing, company):
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.invoice.recorded.v1") as tap:
        event = invoice(company, 1)
        await billing.publish(event, event)
        await eventually(lambda: consumed(billing.app, ISSUED) >= 2)
        await tap.wait_for("billing.invoice.recorded.v1")
        _, page = await invoices(billing, company)
        assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]
        # The relay has published everything of the one invoice document by now.
        await eventually(lambda: billing.app[DB]["invoices"].find_one(
            {"has_pending": False}))
        assert len(tap.of("billing.invoice.recorded.v1")) == 1


async def test_bil6_malformed_invoice_event_is_parked_with_the_reason(billing, company):
    bad = invoice(company, 1, amount_minor="49.90", currency="euro")
    await billing.publish(bad)
    [message] = await parked(billing.amqp_url, billing.bus_prefix, 1)
    assert message.headers["x-park-reason"] == "invalid-data"
    assert "amount_minor" in message.headers["x-park-detail"]
    assert "currency" in message.headers["x-park-detail"]
    _, page = await invoices(billing, company)
    assert page["items"] == []


async def test_bil6_invoice_whose_lines_do_not_add_up_is_parked_at_once(billing, company):
    await billing.publish(invoice(company, 1, amount_minor=5000))
    [message] = await parked(billing.amqp_url, billing.bus_prefix, 1)
    assert message.headers["x-park-reason"] == "rejected"
    assert "sum of the lines" in message.headers["x-park-detail"]


async def test_bil6_invoice_for_an_unknown_company_is_retried_then_parked(billing, unique):
    await billing.publish(invoice(f"ghost-{unique}", 1))
    [message] = await parked(billing.amqp_url, billing.bus_prefix, 1)
    assert message.headers["x-park-reason"] == "handler-failed"
    assert message.headers["x-park-attempts"] == 3  # first try + two retries
    assert "no billing account" in message.headers["x-park-detail"]


# --- BIL-7 online invoices -----------------------------------------------------------------

async def test_bil7_online_invoices_show_linked_landline_numbers_to_granted_users(
        billing, company):
    await billing.link(company, "1234567890", "landline")
    await billing.link(company, "0301234567", "mobile")
    await billing.publish(invoice(company, 1, customer_number="1234567890"),
                          invoice(company, 2, customer_number="0301234567"),
                          invoice(company, 3, customer_number="9999999999"),
                          invoice(company, 4))
    await eventually(lambda: consumed(billing.app, ISSUED) >= 4)
    status, page = await invoices(billing, company, "/v1/online-invoices")
    assert status == 200
    assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]
    assert page["customer_numbers"] == ["1234567890"]

    anna = billing.auth(company, USER, sub="u-anna")
    status, problem = await invoices(billing, company, "/v1/online-invoices", anna)
    assert status == 403 and problem["type"] == "/problems/forbidden"
    status, readers = await billing.call("PUT", "/v1/online-invoices/readers/u-anna",
                                         billing.auth(company, BILLING_ADMIN))
    assert status == 200 and [r["user_id"] for r in readers["items"]] == ["u-anna"]
    status, page = await invoices(billing, company, "/v1/online-invoices", anna)
    assert status == 200 and [i["invoice_id"] for i in page["items"]] == ["inv-1"]
    # The grant opens only the online invoices, not the rest of billing.
    status, _ = await invoices(billing, company, "/v1/invoices", anna)
    assert status == 403
    await billing.call("DELETE", "/v1/online-invoices/readers/u-anna", billing.admin(company))
    status, _ = await invoices(billing, company, "/v1/online-invoices", anna)
    assert status == 403


async def test_bil7_delegated_invoices_read_permission_in_the_token_is_honoured(billing,
                                                                              company):
    sub_admin = billing.auth(company, SUB_ADMIN, perms=["invoices:read"])
    status, page = await invoices(billing, company, "/v1/online-invoices", sub_admin)
    assert status == 200 and page["items"] == []


async def test_bil7_online_invoices_of_an_unlinked_number_are_refused(billing, company):
    status, problem = await invoices(billing, company, "/v1/online-invoices",
                                     customer_number="1234567890")
    assert status == 422 and problem["type"] == "/problems/customer-number-not-linked"


async def test_bil7_grant_in_one_company_opens_nothing_in_another(billing, company, unique):
    other = f"other-{unique}"
    await billing.open_company(other)
    await billing.call("PUT", "/v1/online-invoices/readers/u-anna", billing.admin(company))
    status, _ = await invoices(billing, other, "/v1/online-invoices",
                               billing.auth(other, USER, sub="u-anna"))
    assert status == 403


# --- the link projection, delivered twice --------------------------------------------------

async def test_link_and_unlink_delivered_twice_have_one_effect_and_order_is_kept(billing,
                                                                               company):
    linked = billing.linked(company, "1234567890")
    await billing.publish(linked, linked)
    await eventually(lambda: consumed(billing.app, "contracts.customer_number.linked.v1") >= 2)
    docs = await billing.app[DB]["customer_numbers"].find({}).to_list()
    assert [(d["customer_number"], d["linked"]) for d in docs] == [("1234567890", True)]
    unlinked = envelope("contracts.customer_number.unlinked.v1", {
        "company_id": company, "customer_number": "1234567890", "kind": "landline"})
    await billing.publish(unlinked, unlinked)
    await eventually(
        lambda: consumed(billing.app, "contracts.customer_number.unlinked.v1") >= 2)
    # The link redelivered late (older than the unlink) does not link the number again.
    await billing.publish(linked)
    await eventually(lambda: consumed(billing.app, "contracts.customer_number.linked.v1") >= 3)
    docs = await billing.app[DB]["customer_numbers"].find({}).to_list()
    assert [(d["customer_number"], d["linked"]) for d in docs] == [("1234567890", False)]
