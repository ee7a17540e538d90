"""billing through its real HTTP API and the real broker (BIL-1…BIL-7): tokens from a local
JWKS, a local card payment provider, the test playing identity, contracts, the invoicing
engine and the credit-check provider on the bus."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid

import pytest
import structlog

from shared.app_keys import DB
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, SUB_ADMIN, USER
from shared.logging import configure_logging
from tests.support.billing import DETAILS, NEXT_YEAR, PAN, PAYPAL, SEPA, parked
from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.services import consumed, envelope

pytestmark = pytest.mark.integration

# --- BIL-1 billing details ---------------------------------------------------------------------

async def test_bil1_billing_details_are_stored_with_the_vat_id_checked(billing, company):
    status, body = await billing.call("GET", "/v1/billing-details", billing.admin(company))
    assert status == 404 and body["type"] == "/problems/billing-details-not-found"
    status, body = await billing.call("PUT", "/v1/billing-details", billing.admin(company),
                                      DETAILS)
    assert status == 200, body
    assert body["vat_id"] == "DE136695976"
    status, body = await billing.call("GET", "/v1/billing-details",
                                      billing.auth(company, BILLING_ADMIN))
    assert status == 200
    assert body["invoice_email"] == "rechnung@muster.example"
    assert body["address"]["city"] == "Berlin"


async def test_bil1_invalid_vat_id_is_refused_with_its_own_problem_type(billing, company):
    status, body = await billing.call("PUT", "/v1/billing-details", billing.admin(company),
                                      {**DETAILS, "vat_id": "DE136695970"})
    assert status == 422
    assert body["type"] == "/problems/invalid-vat-id"
    assert body["errors"][0]["field"] == "vat_id"


async def test_bil1_missing_invoice_email_names_the_field(billing, company):
    details = {k: v for k, v in DETAILS.items() if k != "invoice_email"}
    status, body = await billing.call("PUT", "/v1/billing-details", billing.admin(company),
                                      details)
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["invoice_email"]


# --- BIL-2 the five methods ----------------------------------------------------------------

async def test_bil2_landline_bill_needs_a_landline_number_linked_to_the_company(
        billing, company):
    body = {"kind": "landline_bill", "customer_number": "1234567890"}
    status, problem = await billing.add_method(company, body)
    assert status == 422
    assert problem["type"] == "/problems/customer-number-not-linked"
    assert problem["errors"][0]["field"] == "landline_bill.customer_number"

    await billing.link(company, "1234567890", "landline")
    await billing.link(company, "0301234567", "mobile")
    status, method = await billing.add_method(company, body)
    assert status == 201, method
    assert method["active"] and method["status"] == "usable"
    assert method["display"] == "Landline bill 1234567890"
    # A mobile number does not make a landline bill, and vice versa.
    status, problem = await billing.add_method(
        company, {"kind": "landline_bill", "customer_number": "0301234567"})
    assert problem["type"] == "/problems/customer-number-not-linked"
    status, method = await billing.add_method(
        company, {"kind": "mobile_bill", "customer_number": "0301234567"})
    assert status == 201 and method["display"] == "Mobile bill 0301234567"


async def test_bil2_a_user_link_to_one_contract_does_not_bill_the_holders_number(
        billing, company):
    """CON-3 user links give limited rights: billing to the number needs the holder link."""
    user_link = billing.linked(company, "5550001111", "landline")
    user_link["data"]["link_type"] = "user"
    await billing.publish(user_link)
    await eventually(lambda: billing.app[DB]["customer_numbers"].find_one(
        {"_id": f"{company}:5550001111", "linked": True}))
    status, problem = await billing.add_method(
        company, {"kind": "landline_bill", "customer_number": "5550001111"})
    assert status == 422 and problem["type"] == "/problems/customer-number-not-linked"


async def test_bil2_number_linked_by_another_company_can_not_be_billed(billing, company,
                                                                        unique):
    other = f"other-{unique}"
    await billing.link(other, "5550001111", "landline")
    _status, problem = await billing.add_method(
        company, {"kind": "landline_bill", "customer_number": "5550001111"})
    assert problem["type"] == "/problems/customer-number-not-linked"


async def test_bil2_unlinked_number_no_longer_bills(billing, company):
    await billing.link(company, "1234567890")
    await billing.publish(envelope("contracts.customer_number.unlinked.v1", {
        "company_id": company, "customer_number": "1234567890", "kind": "landline"}))
    await eventually(lambda: billing.app[DB]["customer_numbers"].find_one(
        {"_id": f"{company}:1234567890", "linked": False}))
    _status, problem = await billing.add_method(
        company, {"kind": "landline_bill", "customer_number": "1234567890"})
    assert problem["type"] == "/problems/customer-number-not-linked"


async def test_bil2_credit_card_is_confirmed_by_the_provider_and_shown_masked(billing, company):
    card = billing.card("mastercard", "4444")
    status, method = await billing.add_method(company, card)
    assert status == 201, method
    assert method["display"] == "Mastercard •••• 4444"
    assert method["details"] == {"brand": "mastercard", "last4": "4444", "exp_month": 12,
                                 "exp_year": NEXT_YEAR, "holder_name": None}
    assert billing.provider.verifications == 1
    assert card["provider_token"] not in json.dumps(method)


async def test_bil2_card_token_the_provider_does_not_confirm_is_refused(billing, company):
    card = billing.card("visa", "1111")
    status, problem = await billing.add_method(company, {**card, "last4": "9999"})
    assert status == 422 and problem["type"] == "/problems/card-token-rejected"
    status, problem = await billing.add_method(company, {**card, "provider_token": "tok_nope"})
    assert status == 422 and problem["type"] == "/problems/card-token-rejected"
    status, body = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    assert body["items"] == []


@pytest.mark.parametrize("brand", ["amex", "unionpay", "maestro"])
async def test_bil2_unknown_card_brand_is_refused_with_its_own_problem_type(
        billing, company, brand):
    status, problem = await billing.add_method(company, billing.card(brand, "0005"))
    assert status == 422
    assert problem["type"] == "/problems/unsupported-card-brand"
    assert problem["errors"][0]["field"] == "credit_card.brand"


@pytest.mark.parametrize("where", ["holder_name", "extra_field", "last4", "nested"])
async def test_bil2_card_number_anywhere_in_the_body_is_refused_never_echoed_stored_or_logged(
        billing, company, where):
    card = billing.card()
    body = {"holder_name": {**card, "holder_name": f"Anna {PAN}"},
            "extra_field": {**card, "card_number": PAN.replace(" ", "")},
            "last4": {**card, "last4": PAN.replace(" ", "-")},
            "nested": {**card, "meta": {"notes": [f"pan:{PAN}"]}}}[where]
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("billing", "DEBUG", "json", stream=stream)
    try:
        async with billing.http.post(billing.url + "/v1/payment-methods", json=body,
                                     headers=billing.admin(company)) as r:
            text = await r.text()
            assert r.status == 422
        assert json.loads(text)["type"] == "/problems/card-number-in-body"
        # The booking form refuses it too.
        _status, problem = await billing.call(
            "POST", "/v1/subscriptions", billing.admin(company),
            {"product_id": "cloud-pbx", "licences": 1, "payment_method": body})
        assert problem["type"] == "/problems/card-number-in-body"
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
    digits = PAN.replace(" ", "")
    assert digits not in text and PAN not in text
    assert digits not in stream.getvalue() and "1111 1111" not in stream.getvalue()
    stored = [d for name in await billing.app[DB].list_collection_names()
              for d in await billing.app[DB][name].find({}).to_list()]
    assert digits not in json.dumps(stored, default=str)
    assert "1111 1111" not in json.dumps(stored, default=str)


async def test_bil2_paypal_needs_agreement_id_and_payer_email(billing, company):
    status, method = await billing.add_method(company, PAYPAL)
    assert status == 201 and method["display"] == "PayPal pay@muster.example"
    status, problem = await billing.add_method(company, {**PAYPAL, "payer_email": "nope",
                                                         "billing_agreement_id": "X"})
    assert status == 422
    assert sorted(e["field"] for e in problem["errors"]) == [
        "paypal.billing_agreement_id", "paypal.payer_email"]


@pytest.mark.parametrize("iban,rule", [
    ("DE89 3704 0044 0532 0130 01", "iban"),   # wrong check digits
    ("DE89 3704 0044", "iban"),                 # too short for Germany
    ("BR15 0000 0000 0000 1093 2840 814 P2", "sepa_country"),  # valid, but not SEPA
])
async def test_bil2_invalid_or_non_sepa_iban_is_refused_with_its_own_problem_type(
        billing, company, iban, rule):
    status, problem = await billing.add_method(company, {**SEPA, "iban": iban})
    assert status == 422
    assert problem["type"] == "/problems/invalid-iban"
    assert problem["errors"][0] == {"field": "sepa_debit.iban", "rule": rule,
                                    "message": problem["errors"][0]["message"]}


async def test_bil2_bic_of_another_country_is_refused(billing, company):
    _status, problem = await billing.add_method(company, {**SEPA, "bic": "BNPAFRPPXXX"})
    assert problem["type"] == "/problems/invalid-bic"


async def test_bil2_sepa_credit_check_round_trip_makes_the_mandate_active(billing, company):
    """The test plays the credit-check provider on the bus."""
    async with EventTap(billing.amqp_url, billing.bus_prefix, "billing.#") as tap:
        _, card = await billing.add_method(company, PAYPAL)
        status, method = await billing.add_method(company, SEPA)
        assert status == 201, method
        assert method["status"] == "pending_check" and not method["active"]
        assert method["details"]["iban"] == "DE89 •••• 3000"
        assert method["details"]["mandate_reference"].startswith("BAP-")
        # Pending: the earlier method still bills, and the pending one can not be activated.
        status, problem = await billing.call(
            "POST", f"/v1/payment-methods/{method['id']}/activation", billing.admin(company))
        assert status == 409 and problem["type"] == "/problems/payment-method-not-usable"

        request = await tap.wait_for("billing.credit_check.requested.v1",
                                     payment_method_id=method["id"])
        assert request["data"]["iban"] == "DE89370400440532013000"
        assert request["data"]["bic"] == "COBADEFFXXX"
        await billing.publish(envelope("creditcheck.result.v1", {
            "request_id": request["data"]["request_id"], "company_id": company,
            "payment_method_id": method["id"], "outcome": "approved", "reason": None},
            source="/credit-check"))
        activated = await tap.wait_for("billing.payment_method.activated.v1",
                                       payment_method_id=method["id"])
        assert activated["data"]["previous_payment_method_id"] == card["id"]
        assert activated["data"]["display"] == "IBAN DE89 •••• 3000"
    status, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    assert methods["active_payment_method_id"] == method["id"]
    assert [m["status"] for m in methods["items"]] == ["usable", "usable"]


async def test_bil2_rejected_credit_check_keeps_the_reason_and_the_old_method(billing, company):
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.credit_check.requested.v1") as tap:
        _, paypal = await billing.add_method(company, PAYPAL)
        _, method = await billing.add_method(company, SEPA)
        request = await tap.wait_for("billing.credit_check.requested.v1")
    result = envelope("creditcheck.result.v1", {
        "request_id": request["data"]["request_id"], "company_id": company,
        "payment_method_id": method["id"], "outcome": "rejected",
        "reason": "Insufficient credit rating"})
    await billing.publish(result, result)  # delivered twice: one effect
    await eventually(lambda: consumed(billing.app, "creditcheck.result.v1") >= 2)
    _, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    sepa = next(m for m in methods["items"] if m["id"] == method["id"])
    assert sepa["status"] == "rejected"
    assert sepa["rejection_reason"] == "Insufficient credit rating"
    assert methods["active_payment_method_id"] == paypal["id"]
    _, history = await billing.call("GET", "/v1/payment-methods/history", billing.admin(company))
    assert [e["action"] for e in history["items"]].count("rejected") == 1
    _status, problem = await billing.call(
        "POST", f"/v1/payment-methods/{method['id']}/activation", billing.admin(company))
    assert problem["type"] == "/problems/payment-method-not-usable"


async def test_bil2_credit_check_answer_for_no_pending_check_is_parked(billing, company):
    await billing.publish(envelope("creditcheck.result.v1", {
        "request_id": "cc_unknown", "company_id": company, "payment_method_id": "pm_nope",
        "outcome": "approved"}))
    [message] = await parked(billing.amqp_url, billing.bus_prefix, 1)
    assert message.headers["x-park-reason"] == "rejected"
    assert "no pending credit check" in message.headers["x-park-detail"]


# --- BIL-3 exactly one active method -------------------------------------------------------

async def test_bil3_new_method_is_active_at_once_and_an_earlier_one_can_be_reactivated(
        billing, company):
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.payment_method.activated.v1") as tap:
        _, first = await billing.add_method(company, PAYPAL)
        _, sub = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                    {"product_id": "m365-business-basic", "licences": 5})
        assert sub["subscription"]["billed_with"] == first["id"]
        _, second = await billing.add_method(company, billing.card())
        assert second["active"]
        status, methods = await billing.call("GET", "/v1/payment-methods",
                                             billing.admin(company))
        assert [m["active"] for m in methods["items"]] == [False, True]
        _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
        assert subs["items"][0]["billed_with"] == second["id"]

        status, again = await billing.call(
            "POST", f"/v1/payment-methods/{first['id']}/activation", billing.admin(company))
        assert status == 200 and again["active"]
        event = await tap.wait_for("billing.payment_method.activated.v1",
                                   payment_method_id=first["id"],
                                   previous_payment_method_id=second["id"])
        assert event["data"]["invoice_email"] == "anna@example.com"
        assert event["data"]["language"] == "de"
        assert event["companyid"] == company
    _, history = await billing.call("GET", "/v1/payment-methods/history", billing.admin(company))
    activations = [(e["action"], e["payment_method_id"]) for e in history["items"]
                   if e["action"] == "activated"]
    assert activations == [("activated", first["id"]), ("activated", second["id"]),
                           ("activated", first["id"])]


async def test_bil3_two_activations_at_the_same_moment_leave_exactly_one_active(
        billing, company):
    ids = []
    for i in range(4):
        _, m = await billing.add_method(company, billing.card("visa", f"000{i}"))
        ids.append(m["id"])
    for _round in range(3):
        results = await asyncio.gather(*(billing.call(
            "POST", f"/v1/payment-methods/{i}/activation", billing.admin(company))
            for i in ids))
        assert all(status == 200 for status, _ in results)
        _, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
        active = [m["id"] for m in methods["items"] if m["active"]]
        assert len(active) == 1
        assert active == [methods["active_payment_method_id"]]
    # The history agrees: the last activation recorded is the method that is active.
    _, history = await billing.call("GET", "/v1/payment-methods/history", billing.admin(company))
    last = [e for e in history["items"] if e["action"] == "activated"][-1]
    assert last["payment_method_id"] == active[0]


# --- BIL-4 roles, and tenant isolation -----------------------------------------------------

ENDPOINTS = [
    ("GET", "/v1/billing-account", None),
    ("GET", "/v1/billing-details", None),
    ("PUT", "/v1/billing-details", DETAILS),
    ("GET", "/v1/payment-methods", None),
    ("POST", "/v1/payment-methods", PAYPAL),
    ("POST", "/v1/payment-methods/pm_x/activation", None),
    ("GET", "/v1/payment-methods/history", None),
    ("PATCH", "/v1/payment-methods/pm_x", {"provider_token": "tok_sandbox_abcd",
                                           "exp_month": 12, "exp_year": 2099}),
    ("DELETE", "/v1/payment-methods/pm_x", None),
    ("GET", "/v1/products", None),
    ("GET", "/v1/subscriptions", None),
    ("POST", "/v1/subscriptions", {"product_id": "cloud-pbx", "licences": 1}),
    ("PATCH", "/v1/subscriptions/sub_x", {"licences": 2}),
    ("DELETE", "/v1/subscriptions/sub_x", None),
    ("GET", "/v1/invoices", None),
    ("GET", "/v1/online-invoices", None),
    ("GET", "/v1/online-invoices/readers", None),
    ("PUT", "/v1/online-invoices/readers/u-9", None),
    ("DELETE", "/v1/online-invoices/readers/u-9", None),
]
# Who passes: administrators everywhere; everyone of the company sees the catalogue.
OPEN_TO_ALL = {("GET", "/v1/products")}
ROLES = [(COMPANY_ADMIN,), (BILLING_ADMIN,), (USER,), (SUB_ADMIN,), ()]


async def test_bil4_permission_matrix_every_role_on_every_endpoint(billing, company):
    """Only company and billing administrators see or change billing data; everyone else
    gets a 403 problem (the catalogue is for every user of the company)."""
    outcomes = {}
    for roles in ROLES:
        for method, path, body in ENDPOINTS:
            status, problem = await billing.call(method, path,
                                                 billing.auth(company, *roles), body)
            outcomes[(roles, method, path)] = status
            admin = bool({COMPANY_ADMIN, BILLING_ADMIN} & set(roles))
            if admin or (method, path) in OPEN_TO_ALL:
                assert status != 403, (roles, method, path, problem)
                assert status < 500, (roles, method, path, problem)
            else:
                assert status == 403, (roles, method, path, problem)
                assert problem["type"] == "/problems/forbidden"
            status, problem = await billing.call(method, path, {}, body)
            assert status == 401 and problem["type"] == "/problems/unauthenticated"
    assert len(outcomes) == len(ROLES) * len(ENDPOINTS)


async def test_bil4_one_company_never_sees_or_changes_anothers_billing_data(billing, company,
                                                                         unique):
    other = f"other-{unique}"
    await billing.open_company(other, "bob@other.example")
    _, method = await billing.add_method(company, PAYPAL)
    await billing.call("PUT", "/v1/billing-details", billing.admin(company), DETAILS)
    _, booked = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                   {"product_id": "cloud-pbx", "licences": 2})
    theirs = billing.admin(other)
    _, methods = await billing.call("GET", "/v1/payment-methods", theirs)
    assert methods["items"] == []
    status, _ = await billing.call("GET", "/v1/billing-details", theirs)
    assert status == 404
    status, problem = await billing.call(
        "POST", f"/v1/payment-methods/{method['id']}/activation", theirs)
    assert status == 404 and problem["type"] == "/problems/payment-method-not-found"
    status, _ = await billing.call("DELETE", f"/v1/payment-methods/{method['id']}", theirs)
    assert status == 404
    _, history = await billing.call("GET", "/v1/payment-methods/history", theirs)
    assert history["items"] == [] and history["next_cursor"] is None
    sub_id = booked["subscription"]["id"]
    status, _ = await billing.call("DELETE", f"/v1/subscriptions/{sub_id}", theirs)
    assert status == 404
    status, _ = await billing.call("PATCH", f"/v1/subscriptions/{sub_id}", theirs,
                                   {"licences": 9})
    assert status == 404
    _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
    assert subs["items"][0]["licences"] == 2 and subs["items"][0]["status"] == "active"


# --- BIL-5 bookings ------------------------------------------------------------------------

async def test_bil5_catalogue_lists_products_with_prices_in_cents(billing, company):
    status, products = await billing.call("GET", "/v1/products", billing.auth(company, USER))
    assert status == 200
    m365 = next(p for p in products["items"] if p["id"] == "m365-business-basic")
    assert m365["name"] == "Microsoft 365 Business Basic"
    assert isinstance(m365["unit_price_minor"], int) and m365["currency"] == "EUR"


async def test_bil5_booking_without_any_payment_method_asks_for_one(billing, company):
    status, problem = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                         {"product_id": "m365-business-basic", "licences": 5})
    assert status == 422 and problem["type"] == "/problems/payment-method-required"
    _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
    assert subs["items"] == []


async def test_bil5_booking_takes_the_payment_method_and_details_in_the_same_request(
        billing, company):
    status, done = await billing.call("POST", "/v1/subscriptions", billing.admin(company), {
        "product_id": "m365-business-basic", "licences": 5,
        "payment_method": billing.card("jcb", "0000"), "billing_details": DETAILS})
    assert status == 201, done
    assert done["subscription"]["licences"] == 5
    assert done["subscription"]["monthly_amount_minor"] == 5 * 560
    assert done["subscription"]["status"] == "active"
    assert done["payment_method"]["display"] == "JCB •••• 0000"
    assert done["subscription"]["billed_with"] == done["payment_method"]["id"]
    _, details = await billing.call("GET", "/v1/billing-details", billing.admin(company))
    assert details["recipient"] == DETAILS["recipient"]


async def test_bil5_booking_with_an_invalid_method_books_nothing(billing, company):
    status, _problem = await billing.call("POST", "/v1/subscriptions", billing.admin(company), {
        "product_id": "cloud-pbx", "licences": 1, "payment_method": {**SEPA, "iban": "DE00"}})
    assert status == 422
    _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
    assert subs["items"] == []


async def test_bil5_licences_change_and_cancel(billing, company):
    await billing.add_method(company, PAYPAL)
    _, done = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                 {"product_id": "companyflex", "licences": 3})
    sub_id = done["subscription"]["id"]
    status, sub = await billing.call("PATCH", f"/v1/subscriptions/{sub_id}",
                                     billing.admin(company), {"licences": 7})
    assert status == 200 and sub["licences"] == 7
    assert sub["monthly_amount_minor"] == 7 * sub["unit_price_minor"]
    status, sub = await billing.call("DELETE", f"/v1/subscriptions/{sub_id}",
                                     billing.admin(company))
    assert status == 200 and sub["status"] == "cancelled" and sub["billed_with"] is None
    status, problem = await billing.call("PATCH", f"/v1/subscriptions/{sub_id}",
                                         billing.admin(company), {"licences": 2})
    assert status == 409 and problem["type"] == "/problems/subscription-cancelled"
    status, problem = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                         {"product_id": "nope", "licences": 1})
    assert problem["type"] == "/problems/unknown-product"
    status, problem = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                         {"product_id": "m365-business-basic",
                                          "licences": 301})
    assert status == 422 and problem["errors"][0]["field"] == "licences"


async def test_bil5_booking_on_a_pending_sepa_mandate_starts_when_the_check_approves(
        billing, company):
    async with EventTap(billing.amqp_url, billing.bus_prefix,
                        "billing.credit_check.requested.v1") as tap:
        status, done = await billing.call("POST", "/v1/subscriptions", billing.admin(company),
                                          {"product_id": "cloud-pbx", "licences": 10,
                                           "payment_method": SEPA})
        assert status == 201, done
        assert done["subscription"]["status"] == "awaiting_payment_method"
        request = await tap.wait_for("billing.credit_check.requested.v1")
    await billing.publish(envelope("creditcheck.result.v1", {
        **{k: request["data"][k] for k in ("request_id", "company_id", "payment_method_id")},
        "outcome": "approved"}))

    async def started():
        _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
        return subs["items"][0]["status"] == "active" and subs["items"][0]

    sub = await eventually(started)
    assert sub["billed_with"] == request["data"]["payment_method_id"]


# --- Idempotency-Key ----------------------------------------------------------------------

async def test_same_idempotency_key_and_body_gives_the_stored_response_once(billing, company):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    headers = {**billing.admin(company), **key}
    first = await billing.call("POST", "/v1/payment-methods", headers, PAYPAL)
    again = await billing.call("POST", "/v1/payment-methods", headers, PAYPAL)
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    _, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    assert len(methods["items"]) == 1
    # A booking the same way: one subscription.
    booking = {"product_id": "cloud-pbx", "licences": 2}
    key = {**billing.admin(company), "Idempotency-Key": str(uuid.uuid4())}
    one = await billing.call("POST", "/v1/subscriptions", key, booking)
    two = await billing.call("POST", "/v1/subscriptions", key, booking)
    assert one == two and one[0] == 201
    _, subs = await billing.call("GET", "/v1/subscriptions", billing.admin(company))
    assert len(subs["items"]) == 1


async def test_key_of_a_request_that_died_while_running_is_freed_after_a_while(billing,
                                                                             company):
    """A first request whose process stopped mid-way does not block its key for ever."""
    key = str(uuid.uuid4())
    headers = {**billing.admin(company), "Idempotency-Key": key}
    assert (await billing.call("POST", "/v1/payment-methods", headers, PAYPAL))[0] == 201
    records = billing.app[DB]["idempotency_keys"]
    record = await records.find_one({"_id": f"{company}:{key}"})
    assert record is not None
    # As if the first request had died before recording its answer, long ago:
    await records.replace_one({"_id": record["_id"]}, {
        **{k: v for k, v in record.items() if k not in ("status", "body")},
        "state": "running", "started": 0.0})
    status, problem = await billing.call("POST", "/v1/payment-methods", headers, PAYPAL)
    assert status == 201, problem


async def test_same_idempotency_key_with_another_body_is_refused(billing, company):
    headers = {**billing.admin(company), "Idempotency-Key": "key-1"}
    status, _ = await billing.call("POST", "/v1/payment-methods", headers, PAYPAL)
    assert status == 201
    status, problem = await billing.call("POST", "/v1/payment-methods", headers,
                                         {**PAYPAL, "payer_email": "other@muster.example"})
    assert status == 422 and problem["type"] == "/problems/idempotency-key-reused"
    _, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(company))
    assert len(methods["items"]) == 1


async def test_idempotency_keys_are_per_company(billing, company, unique):
    other = f"other-{unique}"
    await billing.open_company(other)
    for c in (company, other):
        status, method = await billing.call(
            "POST", "/v1/payment-methods", {**billing.admin(c), "Idempotency-Key": "same"},
            PAYPAL)
        assert status == 201
        _, methods = await billing.call("GET", "/v1/payment-methods", billing.admin(c))
        assert [m["id"] for m in methods["items"]] == [method["id"]]


async def test_failed_request_frees_its_idempotency_key(billing, company):
    headers = {**billing.admin(company), "Idempotency-Key": "retry-me"}
    body = {"kind": "landline_bill", "customer_number": "1234567890"}
    status, _ = await billing.call("POST", "/v1/payment-methods", headers, body)
    assert status == 422
    await billing.link(company, "1234567890")
    status, _ = await billing.call("POST", "/v1/payment-methods", headers, body)
    assert status == 201
