"""Seed 000 "set up a payment method or change an existing one" (BIL-3): a method is removed
or a card's expiry updated, every change kept in a history served however old, and an
invoice billed with the method active when it was issued, however long ago that was."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.billing.domain.account import HISTORY_KEPT
from tests.support.billing import DETAILS, ISSUED, NEXT_YEAR, PAYPAL, SEPA, invoice, invoices
from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.services import consumed

pytestmark = pytest.mark.integration

REMOVED, UPDATED = "billing.payment_method.removed.v1", "billing.payment_method.updated.v1"
ACTIVATED = "billing.payment_method.activated.v1"


async def methods(billing, company) -> dict:
    status, body = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    assert status == 200
    return body


async def history(billing, company, **query) -> dict:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    status, body = await billing.call("GET", "/v1/payment-methods/history"
                                      + (f"?{qs}" if qs else ""), billing.admin(company))
    assert status == 200, body
    return body


async def test_seed000_a_payment_method_that_is_not_active_is_removed(billing, company):
    _, paypal = await billing.add_method(company, PAYPAL)
    _, card = await billing.add_method(company, billing.card("visa", "4242"))
    async with EventTap(billing.amqp_url, billing.bus_prefix, REMOVED) as tap:
        status, after = await billing.call("DELETE", f"/v1/payment-methods/{paypal['id']}",
                                           billing.admin(company))
        assert status == 200, after
        event = await tap.wait_for(REMOVED, payment_method_id=paypal["id"])
    assert [m["id"] for m in after["items"]] == [card["id"]]
    assert after["active_payment_method_id"] == card["id"]
    assert [m["id"] for m in (await methods(billing, company))["items"]] == [card["id"]]
    assert event["data"]["display"] == "PayPal pay@muster.example"
    assert event["data"]["active_payment_method_id"] == card["id"]
    assert event["data"]["invoice_email"] == "anna@example.com"
    last = (await history(billing, company))["items"][-1]
    assert (last["action"], last["payment_method_id"]) == ("removed", paypal["id"])
    # Gone: it can neither be removed again nor reactivated.
    status, problem = await billing.call("DELETE", f"/v1/payment-methods/{paypal['id']}",
                                         billing.admin(company))
    assert status == 404 and problem["type"] == "/problems/payment-method-not-found"
    status, problem = await billing.call(
        "POST", f"/v1/payment-methods/{paypal['id']}/activation", billing.admin(company))
    assert status == 404


async def test_seed000_the_only_usable_method_is_not_removed_while_it_is_active(billing,
                                                                              company):
    _, paypal = await billing.add_method(company, PAYPAL)
    # A SEPA mandate still in its credit check is not usable yet: it does not count.
    status, _ = await billing.add_method(company, SEPA)
    assert status == 201
    status, problem = await billing.call("DELETE", f"/v1/payment-methods/{paypal['id']}",
                                         billing.admin(company))
    assert status == 409, problem
    assert problem["type"] == "/problems/payment-method-still-needed"
    assert "add another method first" in problem["detail"]
    body = await methods(billing, company)
    assert body["active_payment_method_id"] == paypal["id"] and len(body["items"]) == 2


async def test_seed000_removing_the_active_method_activates_the_one_active_before(
        billing, company):
    _, paypal = await billing.add_method(company, PAYPAL)
    _, visa = await billing.add_method(company, billing.card("visa", "4242"))
    _, jcb = await billing.add_method(company, billing.card("jcb", "0005"))
    await billing.call("POST", f"/v1/payment-methods/{visa['id']}/activation",
                       billing.admin(company))
    await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                       {"product_id": "m365-business-basic", "licences": 5})
    billed_before = datetime.now().astimezone()
    async with EventTap(billing.amqp_url, billing.bus_prefix, REMOVED, ACTIVATED) as tap:
        status, after = await billing.call("DELETE", f"/v1/payment-methods/{visa['id']}",
                                           billing.admin(company))
        assert status == 200, after
        await tap.wait_for(REMOVED, payment_method_id=visa["id"],
                           active_payment_method_id=jcb["id"])
        await tap.wait_for(ACTIVATED, payment_method_id=jcb["id"],
                           previous_payment_method_id=visa["id"])
    # Exactly one stays active: the card active before the removed one.
    assert after["active_payment_method_id"] == jcb["id"]
    assert [m["id"] for m in after["items"] if m["active"]] == [jcb["id"]]
    _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
    assert subs["items"][0]["billed_with"] == jcb["id"]
    # An invoice issued while the removed card was active still names it.
    await billing.publish(invoice(company, 1, issued_at=billed_before))
    await eventually(lambda: consumed(billing.app, ISSUED) >= 1)
    _, page = await invoices(billing, company)
    assert page["items"][0]["payment_method"]["display"] == "Visa •••• 4242"
    assert paypal["id"] in {m["id"] for m in after["items"]}


async def test_seed000_a_cards_expiry_is_updated_with_a_new_provider_token(billing, company):
    _, card = await billing.add_method(company, billing.card("visa", "4242"))
    _, paypal = await billing.add_method(company, PAYPAL)
    path = f"/v1/payment-methods/{card['id']}"
    renewed = billing.provider.tokenise(brand="visa", last4="4242", exp_month=9,
                                        exp_year=NEXT_YEAR + 3)
    # The provider must know the token for this very card with the new expiry.
    other = billing.provider.tokenise(brand="visa", last4="9999", exp_month=9,
                                      exp_year=NEXT_YEAR + 3)
    status, problem = await billing.call("PATCH", path, billing.admin(company), {
        "provider_token": other, "exp_month": 9, "exp_year": NEXT_YEAR + 3})
    assert status == 422 and problem["type"] == "/problems/card-token-rejected"
    status, problem = await billing.call("PATCH", path, billing.admin(company), {
        "provider_token": renewed, "exp_month": 1, "exp_year": 2001})
    assert status == 422 and problem["type"] == "/problems/card-expired"
    status, problem = await billing.call("PATCH", path, billing.admin(company), {
        "provider_token": renewed, "exp_month": 9, "exp_year": NEXT_YEAR + 3,
        "number": "4111 1111 1111 1111"})
    assert status == 422 and problem["type"] == "/problems/card-number-in-body"
    status, problem = await billing.call(
        "PATCH", f"/v1/payment-methods/{paypal['id']}", billing.admin(company),
        {"provider_token": renewed, "exp_month": 9, "exp_year": NEXT_YEAR + 3})
    assert status == 409 and problem["type"] == "/problems/payment-method-not-a-card"

    async with EventTap(billing.amqp_url, billing.bus_prefix, UPDATED) as tap:
        status, updated = await billing.call("PATCH", path, billing.admin(company), {
            "provider_token": renewed, "exp_month": 9, "exp_year": NEXT_YEAR + 3})
        assert status == 200, updated
        event = await tap.wait_for(UPDATED, payment_method_id=card["id"])
    assert updated["id"] == card["id"] and updated["display"] == "Visa •••• 4242"
    assert (updated["details"]["exp_month"], updated["details"]["exp_year"]) == (
        9, NEXT_YEAR + 3)
    assert "provider_token" not in updated["details"]
    assert updated["active"] is False  # PayPal stays the active method
    assert (event["data"]["exp_month"], event["data"]["active"]) == (9, False)
    last = (await history(billing, company))["items"][-1]
    assert (last["action"], last["previous_exp_year"], last["exp_year"]) == (
        "card_updated", NEXT_YEAR, NEXT_YEAR + 3)


async def test_seed000_payment_history_beyond_the_last_100_entries_is_served_page_by_page(
        billing, company):
    _, paypal = await billing.add_method(company, PAYPAL)
    for _ in range(HISTORY_KEPT + 10):
        status, _ = await billing.call("PUT", "/v1/billing-details", billing.admin(company),
                                       DETAILS)
        assert status == 200
    first = await history(billing, company)
    total = first["items"][-1]["seq"]
    assert len(first["items"]) == HISTORY_KEPT and first["archived"] == total - HISTORY_KEPT
    seen, cursor = [], None
    while True:
        page = await history(billing, company, limit=40, **({"cursor": cursor} if cursor
                                                             else {}))
        seen = [e["seq"] for e in page["items"]] + seen
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, total + 1))
    oldest = await history(billing, company, limit=3, cursor=first["next_cursor"])
    assert [e["seq"] for e in oldest["items"]] == [total - HISTORY_KEPT - 2,
                                                   total - HISTORY_KEPT - 1,
                                                   total - HISTORY_KEPT]
    # The very first entries, from the archive, are whole: the PayPal added and activated.
    start = await history(billing, company, limit=5, cursor=page_cursor(3))
    assert [(e["seq"], e["action"], e["payment_method_id"]) for e in start["items"]] == [
        (1, "added", paypal["id"]), (2, "activated", paypal["id"])]
    assert start["next_cursor"] is None
    status, problem = await billing.call("GET", "/v1/payment-methods/history?cursor=xyz",
                                         billing.admin(company))
    assert status == 422 and problem["errors"][0]["field"] == "query.cursor"


def page_cursor(before: int) -> str:
    from shared.pagination import encode_cursor
    return encode_cursor(before)


async def test_seed000_an_invoice_is_billed_with_the_method_active_when_issued_however_old(
        billing, company):
    _, paypal = await billing.add_method(company, PAYPAL)
    _, card = await billing.add_method(company, billing.card("visa", "4242"))
    at = {e["payment_method_id"]: datetime.fromisoformat(e["at"])
          for e in (await history(billing, company))["items"] if e["action"] == "activated"}
    between = at[paypal["id"]] + (at[card["id"]] - at[paypal["id"]]) / 2
    # More than the account keeps: both activations move into the archive.
    for _ in range(HISTORY_KEPT + 5):
        await billing.call("PUT", "/v1/billing-details", billing.admin(company), DETAILS)
    kept = (await history(billing, company))["items"]
    assert "activated" not in {e["action"] for e in kept}
    await billing.publish(invoice(company, 1, issued_at=between),
                          invoice(company, 2, issued_at=at[card["id"]] + timedelta(seconds=1)))
    await eventually(lambda: consumed(billing.app, ISSUED) >= 2)
    _, page = await invoices(billing, company)
    by_id = {i["invoice_id"]: i["payment_method"]["id"] for i in page["items"]}
    assert by_id == {"inv-1": paypal["id"], "inv-2": card["id"]}
