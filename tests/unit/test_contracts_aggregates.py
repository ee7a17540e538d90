"""contracts' aggregates keep the documents already stored: a document loads into its typed
aggregate and is saved back with the same fields and values (the outbox's fields are left to
the store), and a change writes only what it changes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from services.contracts.domain import contacts, errors
from services.contracts.domain import customer_numbers as cn
from services.contracts.domain.companies import ProjectedUser
from services.contracts.domain.permissions import PermissionTransfer, Transferable

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
OUTBOX = {"version": 3, "pending_events": [], "outbox_seq": 2, "has_pending": False,
          "applied_events": ["e-1"]}

NUMBER = {
    "_id": "1234567890", "customer_number": "1234567890", "kind": "landline",
    "segment": "business", "holder_name": "Muster GmbH", "contact_email": "it@muster.example",
    "language": "de",
    "contracts": [{"contract_id": "K-1", "product": "CompanyFlex", "segment": "business",
                   "access_number": "+4930123456", "status": "active",
                   "started_on": "2024-01-01", "terminated_on": None}],
    "segments_seen": ["business"],
    "otp": {"hash": "ab" * 32, "issued_at": NOW, "expires_at": NOW, "used_at": NOW,
            "bound_company_id": "c-1"},
    "links": [{"company_id": "c-1", "link_type": "holder", "contract_ids": [],
               "linked_at": NOW, "linked_by": "u-1", "stale": False}],
    "linked_companies": ["c-1"], "holder_company_id": "c-1", "issued_at": NOW,
    "reference_as_of": 1_700_000_000.5, **OUTBOX,
}


def saved(doc: dict, aggregate) -> dict:
    """What the store writes: the document as read, updated with the aggregate's fields."""
    return {**doc, **aggregate.to_doc()}


def test_a_stored_customer_number_is_saved_back_unchanged():
    number = cn.CustomerNumber.model_validate(copy.deepcopy(NUMBER))
    assert saved(NUMBER, number) == NUMBER
    assert number.link_of("c-1") is not None and number.password_generation


def test_a_number_issued_before_any_reference_change_gets_no_new_fields():
    doc = {k: v for k, v in NUMBER.items() if k != "reference_as_of"}
    doc["otp"] = {k: v for k, v in NUMBER["otp"].items()
                  if k not in ("used_at", "bound_company_id")}
    number = cn.CustomerNumber.model_validate(copy.deepcopy(doc))
    assert set(number.to_doc()) | set(OUTBOX) == set(doc)
    assert set(number.to_doc()["otp"]) == {"hash", "issued_at", "expires_at"}
    assert number.change_reference(holder_name=None, contact_email="new@muster.example",
                                   language=None, as_of=1.0)
    assert saved(doc, number)["reference_as_of"] == 1.0
    assert saved(doc, number)["contact_email"] == "new@muster.example"


def test_unlinking_records_the_event_the_store_publishes():
    number = cn.CustomerNumber.model_validate(copy.deepcopy(NUMBER))
    number.unlink("c-1")
    (event,) = number.collect_events()
    assert event == cn.LinkDeleted("c-1", "holder") and number.collect_events() == []
    assert saved(NUMBER, number)["holder_company_id"] == ""


def test_a_contact_keeps_its_history_entry_and_refuses_an_inverted_period():
    contact = contacts.AuthorisedContact.add(
        contact_id="k-1", company_id="c-1", customer_number="1234567890",
        fields={"kind": "person", "name": "Jonas", "email": "Jonas@Muster.example",
                "phone": None, "organisation": None, "actions": ["order"],
                "valid_from": "2026-04-01", "valid_until": None}, by="u-1", now=NOW)
    doc = contact.to_doc()
    assert doc["email"] == "jonas@muster.example" and doc["last_change"]["action"] == "added"
    assert "updated_at" not in doc and doc["last_change"]["previous"] is None
    assert contacts.AuthorisedContact.model_validate(doc).to_doc() == doc
    assert not contact.change({"name": "Jonas"}, by="u-2", now=NOW)
    assert contact.change({"phone": "+4930123456"}, by="u-2", now=NOW)
    assert contact.last_change is not None and contact.last_change.previous == {"phone": None}
    with pytest.raises(errors.InvalidInput):
        contact.change({"valid_until": "2026-03-31"}, by="u-2", now=NOW)


def test_a_transfer_records_one_event_per_ticked_and_unticked_contract():
    transfer = PermissionTransfer.start(from_company_id="c-1", to_company_id="c-2",
                                        to_user_id="u-2")
    k1 = Transferable("K-1", "1234567890", "CompanyFlex", None)
    k2 = Transferable("K-2", "1234567890", "SIP Trunk", "+4930123456")
    transfer.tick([k1, k2], to_company_id="c-2", to_email="a@b.example", language="de", now=NOW)
    assert len(transfer.collect_events()) == 2
    transfer.tick([k2], to_company_id="c-2", to_email="a@b.example", language="de", now=NOW)
    assert [type(e).__name__ for e in transfer.collect_events()] == ["RightsRevoked"]
    assert [c["contract_id"] for c in transfer.to_doc()["contracts"]] == ["K-2"]


def test_an_older_fact_about_a_user_does_not_undo_a_newer_one():
    user = ProjectedUser.first_seen("u-1", "c-1")
    user.learn({"active": False, "email": "Anna@Example.com"}, as_of=2.0)
    user.learn({"active": True, "surname": None}, as_of=1.0)
    assert (user.active, user.email, user.surname) == (False, "anna@example.com", "")
