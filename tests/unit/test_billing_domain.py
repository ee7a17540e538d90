"""billing's rules without I/O: card numbers never accepted, brands, SEPA plausibility, VAT
ids, and the one-active-method invariant of the account (BIL-1, BIL-2, BIL-3, BIL-6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.billing.domain import cards, sepa
from services.billing.domain.account import BillingAccount
from services.billing.domain.details import check_vat_id
from services.billing.domain.errors import (
    CardNumberInBody,
    InvalidBic,
    InvalidIban,
    InvalidVatId,
    PaymentMethodNotUsable,
)
from services.billing.domain.payment_methods import (
    PENDING_CHECK,
    USABLE,
    PaymentMethod,
    PayPalDetails,
    SepaDetails,
)
from services.billing.events import envelopes
from services.billing.http.models import Booking, NewPaymentMethod
from shared.http import problem_body

pytestmark = pytest.mark.unit

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CARD = {"kind": "credit_card", "provider_token": "tok_abc123", "brand": "visa",
        "last4": "4242", "exp_month": 12, "exp_year": 2030}


# --- BIL-2 card numbers --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
    "card: 5555555555554444!", "378282246310005", "6011111111111117", "3530111333300000",
    "4000056655665556122",  # 19 digits, Luhn-valid
])
def test_bil2_luhn_valid_card_numbers_are_found_however_they_are_written(text):
    assert cards.contains_card_number(text)
    assert cards.contains_card_number({"a": [{"b": text}]})


@pytest.mark.parametrize("value", [
    "4111111111111112",        # fails Luhn
    "411111111111",            # 12 digits
    "41111111111111111111",    # 20 digits
    "DE89370400440532013000",  # an IBAN
    "GB33BUKB20201555555555",  # an IBAN with a Luhn-valid-looking run
    "2026-12-15", "+4930123456", "1234567890", "tok_4242", True,
])
def test_bil2_other_values_are_not_taken_for_card_numbers(value):
    assert not cards.contains_card_number(value)


def test_bil2_card_number_as_a_json_number_or_key_is_found():
    assert cards.contains_card_number({"n": 4111111111111111})
    assert cards.contains_card_number({"4111111111111111": "x"})


@pytest.mark.parametrize("body", [
    {**CARD, "holder_name": "4111 1111 1111 1111"},
    {**CARD, "pan": "4111111111111111"},
    {**CARD, "last4": "4111111111111111"},
    {"kind": "paypal", "billing_agreement_id": "B-5YM39163N4795124R",
     "payer_email": "a@b.example", "note": "5555555555554444"},
])
def test_bil2_payment_method_request_refuses_a_card_number_before_anything_else(body):
    with pytest.raises(CardNumberInBody) as caught:
        NewPaymentMethod.model_validate(body)
    answer = str(problem_body(caught.value))
    assert "4111" not in answer and "5555" not in answer
    with pytest.raises(CardNumberInBody):
        Booking.model_validate({"product_id": "cloud-pbx", "licences": 1,
                                "payment_method": body})


@pytest.mark.parametrize("name,code", [("Visa", "visa"), ("MasterCard", "mastercard"),
                                       ("Diners Club", "diners_discover"),
                                       ("discover", "diners_discover"), ("JCB", "jcb"),
                                       ("amex", None), ("maestro", None)])
def test_bil2_accepted_brands_are_visa_mastercard_diners_discover_and_jcb(name, code):
    assert cards.brand(name) == code


def test_bil2_card_is_valid_through_its_expiry_month():
    assert not cards.expired(5, 2026, date(2026, 5, 31))
    assert cards.expired(4, 2026, date(2026, 5, 1))


# --- BIL-2 SEPA, BIL-1 VAT -----------------------------------------------------------------

def test_bil2_sepa_iban_and_bic_are_checked_and_masked():
    iban = sepa.check_iban("de89 3704 0044 0532 0130 00")
    assert iban.compact == "DE89370400440532013000"
    assert str(sepa.check_bic("COBADEFFXXX", iban).compact) == "COBADEFFXXX"
    assert sepa.mask_iban(iban.compact) == "DE89 •••• 3000"
    with pytest.raises(InvalidIban):
        sepa.check_iban("DE89370400440532013001")
    with pytest.raises(InvalidIban) as caught:
        sepa.check_iban("BR1500000000000010932840814P2")
    assert caught.value.errors[0]["rule"] == "sepa_country"
    with pytest.raises(InvalidBic):
        sepa.check_bic("NOTABIC", iban)


def test_bil2_mandate_reference_uses_only_allowed_characters_and_fits_35():
    ref = sepa.mandate_reference("0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40", 12)
    assert ref == "BAP-0F3A6C2E1D4B-0012" and len(ref) <= 35


def test_bil1_vat_id_is_checked_per_country():
    assert check_vat_id("DE 136 695 976") == "DE136695976"
    assert check_vat_id("HU12892312") == "HU12892312"
    with pytest.raises(InvalidVatId):
        check_vat_id("DE136695970")


# --- BIL-3 the account aggregate -----------------------------------------------------------

def method(mid: str, status: str = USABLE, kind: str = "paypal") -> PaymentMethod:
    details = SepaDetails(account_holder="X", iban="DE89370400440532013000", bic="COBADEFFXXX",
                          signed_on="2026-05-01", mandate_reference="BAP-X-0001") \
        if kind == "sepa_debit" else PayPalDetails(billing_agreement_id="B-X",
                                                   payer_email="pay@example.com")
    return PaymentMethod.model_validate({
        "id": mid, "kind": kind, "status": status, "display": mid, "details": details,
        "created_at": NOW, "created_by": "u", "rejection_reason": None,
        "credit_check_request_id": f"cc_{mid}"})


def fresh() -> BillingAccount:
    return BillingAccount.open("c-1", "Muster GmbH", "anna@example.com", "de", "e-1", NOW)


def published(account: BillingAccount, since: int = 0) -> list[dict]:
    """The envelopes of the events the account's changes caused (from the ``since``-th)."""
    return envelopes(account.events[since:])


def test_bil3_a_new_usable_method_is_active_at_once_and_announced():
    doc = fresh()
    doc.add_method(method("pm-1"), by="u", now=NOW)
    [event] = published(doc)
    assert doc.active_method_id == "pm-1"
    assert event["type"] == "billing.payment_method.activated.v1"
    assert event["data"]["invoice_email"] == "anna@example.com"
    doc.add_method(method("pm-2"), by="u", now=NOW)
    [event] = published(doc, 1)
    assert doc.active_method_id == "pm-2"
    assert event["data"]["previous_payment_method_id"] == "pm-1"
    doc.activate("pm-2", by="u", now=NOW)
    assert published(doc, 2) == []  # already active: nothing new


def test_bil3_sepa_waits_for_its_credit_check_then_becomes_active():
    doc = fresh()
    doc.add_method(method("pm-1"), by="u", now=NOW)
    doc.add_method(method("pm-2", PENDING_CHECK, "sepa_debit"), by="u", now=NOW)
    [request] = published(doc, 1)
    assert request["type"] == "billing.credit_check.requested.v1"
    assert doc.active_method_id == "pm-1"
    with pytest.raises(PaymentMethodNotUsable):
        doc.activate("pm-2", by="u", now=NOW)
    assert doc.apply_credit_check(request_id="other", method_id="pm-2", approved=True,
                                  reason=None, now=NOW) is False
    assert doc.apply_credit_check(request_id="cc_pm-2", method_id="pm-2", approved=True,
                                  reason=None, now=NOW)
    [activated] = published(doc, 2)
    assert doc.active_method_id == "pm-2" and activated["data"]["kind"] == "sepa_debit"
    assert doc.apply_credit_check(request_id="cc_pm-2", method_id="pm-2", approved=False,
                                  reason="late", now=NOW)
    assert published(doc, 3) == []
    assert doc.find_method("pm-2").status == USABLE


def test_bil6_invoice_is_billed_with_the_method_active_at_its_issue_time():
    doc = fresh()
    doc.add_method(method("pm-1"), by="u", now=NOW)
    doc.add_method(method("pm-2"), by="u", now=NOW + timedelta(days=10))
    assert doc.active_method_at(NOW + timedelta(days=5)).id == "pm-1"
    assert doc.active_method_at(NOW + timedelta(days=11)).id == "pm-2"
    # Issued before any activation: billed with the method active now.
    assert doc.active_method_at(NOW - timedelta(days=1)).id == "pm-2"


def test_bil3_every_change_is_kept_in_the_history():
    doc = fresh()
    doc.add_method(method("pm-1"), by="u", now=NOW)
    doc.add_method(method("pm-2"), by="u", now=NOW)
    doc.activate("pm-1", by="admin", now=NOW)
    assert [(e.action, e.payment_method_id) for e in doc.history] == [
        ("added", "pm-1"), ("activated", "pm-1"), ("added", "pm-2"), ("activated", "pm-2"),
        ("activated", "pm-1")]
    assert [e.seq for e in doc.history] == [1, 2, 3, 4, 5]
