"""billing's payment-method use cases (BIL-2, BIL-3): add, activate, remove, update a card's
expiry, and the credit-check provider's answer."""

from __future__ import annotations

import uuid
from typing import Any

from services.billing.accounts import _now, billing_account, change_account
from services.billing.domain import account as acc
from services.billing.domain import cards, sepa
from services.billing.domain.errors import (
    CardExpired,
    CardTokenRejected,
    CustomerNumberNotLinked,
    PaymentProviderUnavailable,
    UnsupportedCardBrand,
    field_problem,
)
from services.billing.payment_provider import CardProvider, ProviderUnavailable
from services.billing.store import BillingStore
from shared.auth import Principal
from shared.errors import InvalidInput, PermanentEventError

Doc = dict[str, Any]


# -- payment methods (BIL-2, BIL-3) --------------------------------------------------------------

async def linked_number(store: BillingStore, company_id: str, number: str) -> Doc | None:
    """The company's link to a customer number as contract holder: a user link (one
    contract, limited rights) does not let a company bill to the holder's contract."""
    return await store.customer_numbers.find_one(
        {"_id": f"{company_id}:{number}", "company_id": company_id, "linked": True,
         "link_type": {"$eq": "holder"}})


async def new_method(store: BillingStore, provider: CardProvider, company_id: str,
                     request: Doc, *, by: str, field_prefix: str = "") -> Doc:
    """A payment method built from a validated request: every check that needs no account
    state runs here, before the account is read (the provider, the link projection)."""
    # Field paths name the form, as pydantic's do for the tagged union: "sepa_debit.iban".
    kind = request["kind"]
    f = f"{field_prefix}{kind}."
    method_id = f"pm_{uuid.uuid4().hex[:16]}"
    method: Doc = {"id": method_id, "kind": kind, "status": acc.USABLE, "created_at": _now(),
                   "created_by": by, "rejection_reason": None}
    if kind in ("landline_bill", "mobile_bill"):
        wanted = "landline" if kind == "landline_bill" else "mobile"
        number = request["customer_number"]
        link = await linked_number(store, company_id, number)
        if link is None or link.get("kind") != wanted:
            raise field_problem(
                CustomerNumberNotLinked, f"{f}customer_number", "linked_" + wanted,
                f"Only a {wanted} customer number linked to this company can be billed; "
                "link it first (contracts: link a customer number), then try again.")
        method["details"] = {"customer_number": number}
        label = "Landline bill" if wanted == "landline" else "Mobile bill"
        method["display"] = f"{label} {number}"
    elif kind == "credit_card":
        method["details"] = await _checked_card(provider, request, f)
        d = method["details"]
        method["display"] = f"{cards.BRANDS[d['brand']]} •••• {d['last4']}"
    elif kind == "paypal":
        method["details"] = {"billing_agreement_id": request["billing_agreement_id"],
                             "payer_email": request["payer_email"]}
        method["display"] = f"PayPal {request['payer_email']}"
    elif kind == "sepa_debit":
        iban = sepa.check_iban(request["iban"], f"{f}iban")
        bic = sepa.check_bic(request["bic"], iban, f"{f}bic")
        method["status"] = acc.PENDING_CHECK
        method["credit_check_request_id"] = f"cc_{method_id}"
        method["details"] = {"iban": iban.compact, "bic": str(bic.compact),
                             "account_holder": request["account_holder"],
                             "signed_on": _now().date().isoformat(),
                             # Numbered when the account is saved (see _place_method).
                             "mandate_reference": None}
        method["display"] = f"IBAN {sepa.mask_iban(iban.compact)}"
    else:  # the request model admits no other kind
        raise InvalidInput([{"field": f"{f}kind", "rule": "kind", "message": "unknown kind"}])
    return method


async def _checked_card(provider: CardProvider, request: Doc, f: str) -> Doc:
    brand = cards.brand(request["brand"])
    if brand is None:
        raise field_problem(UnsupportedCardBrand, f"{f}brand", "card_brand",
                            "Accepted cards: Visa, Mastercard, Diners Club/Discover and JCB.")
    month, year = request["exp_month"], request["exp_year"]
    if cards.expired(month, year, _now().date()):
        raise field_problem(CardExpired, f"{f}exp_year", "card_expired",
                            "The card's expiry date is in the past; use a valid card.")
    try:
        card = await provider.card_for(request["provider_token"])
    except ProviderUnavailable:
        raise PaymentProviderUnavailable("The payment provider can not confirm the card right "
                                         "now; try again in a minute.") from None
    if card is None or not _matches(card, brand, request["last4"], month, year):
        raise field_problem(CardTokenRejected, f"{f}provider_token", "provider_token",
                            "The payment provider does not know this token for a card with "
                            "this brand, last 4 digits and expiry; tokenise the card again.")
    return {"brand": brand, "last4": request["last4"], "exp_month": month, "exp_year": year,
            "holder_name": request.get("holder_name"),
            # Needed to charge the card; never shown, never logged.
            "provider_token": request["provider_token"]}


def _matches(card, brand: str, last4: str, month: int, year: int) -> bool:
    if card.brand == "*":  # the local sandbox trusts what was sent
        return True
    return (cards.brand(card.brand) == brand and card.last4 == last4
            and card.exp_month == month and card.exp_year == year)


def _place_method(doc: Doc, method: Doc, by: str) -> list[dict]:
    if method["kind"] == "sepa_debit":
        n = sum(1 for m in doc.get("payment_methods", []) if m["kind"] == "sepa_debit") + 1
        method["details"]["mandate_reference"] = sepa.mandate_reference(doc["company_id"], n)
    return acc.add_method(doc, method, by=by, now=_now())


async def add_payment_method(store: BillingStore, provider: CardProvider,
                             principal: Principal, request: Doc) -> tuple[Doc, Doc]:
    """A new method; usable ones are active at once (BIL-3). Returns (method, account)."""
    await billing_account(store, principal.company_id)
    method = await new_method(store, provider, principal.company_id, request,
                              by=principal.subject)

    def mutate(doc: Doc) -> list[dict]:
        return _place_method(doc, {**method, "details": dict(method["details"])},
                             principal.subject)

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_method(doc, method["id"]), doc


async def activate_payment_method(store: BillingStore, principal: Principal,
                                  method_id: str) -> tuple[Doc, Doc]:
    doc = await billing_account(store, principal.company_id)
    method = acc.find_method(doc, method_id)
    if method["kind"] in ("landline_bill", "mobile_bill"):
        number = method["details"]["customer_number"]
        if await linked_number(store, principal.company_id, number) is None:
            raise field_problem(CustomerNumberNotLinked, "customer_number", "linked",
                                f"The customer number {number} is no longer linked to this "
                                "company; link it again before reactivating this method.")

    def mutate(doc: Doc) -> list[dict]:
        return acc.activate(doc, method_id, by=principal.subject, now=_now())

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_method(doc, method_id), doc


async def credit_check_answered(store: BillingStore, *, event_id: str, request_id: str,
                                company_id: str, method_id: str, approved: bool,
                                reason: str | None) -> None:
    unknown = PermanentEventError(
        f"no pending credit check {request_id} for payment method {method_id} of company "
        f"{company_id}")

    def mutate(doc: Doc) -> list[dict]:
        events = acc.apply_credit_check(doc, request_id=request_id, method_id=method_id,
                                        approved=approved, reason=reason, now=_now())
        if events is None:
            raise unknown  # raised inside the write: the event is not recorded as applied
        return events

    doc = await store.accounts.change({"_id": company_id, "company_id": company_id}, mutate,
                                      applied_event=event_id)
    if doc is None:
        raise unknown


async def remove_payment_method(store: BillingStore, principal: Principal,
                                method_id: str) -> Doc:
    """BIL-3: remove a method; the active one only while another usable one exists, which
    then becomes active (see ``acc.remove``). Returns the account."""
    def mutate(doc: Doc) -> list[dict]:
        return acc.remove(doc, method_id, by=principal.subject, now=_now())

    return await change_account(store, principal.company_id, mutate)


async def update_card(store: BillingStore, provider: CardProvider, principal: Principal,
                      method_id: str, request: Doc) -> tuple[Doc, Doc]:
    """BIL-3: a card's new expiry with the provider's new token for the same card (brand and
    last four digits as stored). Returns (method, account)."""
    account = await billing_account(store, principal.company_id)
    method = acc.find_method(account, method_id)
    if method["kind"] == "credit_card":
        d = method["details"]
        # The provider confirms the token for this card, with the new expiry.
        card = await _checked_card(provider, {**request, "brand": d["brand"],
                                              "last4": d["last4"]}, "")
    else:
        card = {}  # refused inside the write with the method's kind

    def mutate(doc: Doc) -> list[dict]:
        return acc.update_card(doc, method_id, card, by=principal.subject, now=_now())

    doc = await change_account(store, principal.company_id, mutate)
    return acc.find_method(doc, method_id), doc
