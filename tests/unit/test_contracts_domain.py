"""contracts' rules without I/O: one-time passwords (CON-1, CON-2), link rules (CON-3, CON-4),
rights (CON-5) and the authorisation answer (CON-7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.contracts import events
from services.contracts.domain import contacts, errors
from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import one_time_passwords as otp
from services.contracts.domain.rights import RIGHTS, TRANSFERABLE_RIGHTS

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
PEPPER = b"unit-test-pepper"


def number(*contracts: cn.Contract, segment: str = "business") -> cn.CustomerNumber:
    data = events.CustomerNumberIssued.model_validate({
        "customer_number": "1234567890", "kind": "landline", "segment": segment,
        "holder_name": "Muster GmbH", "contact_email": "it@muster.example",
        "contracts": [x.to_doc() for x in contracts]})
    password, record = otp.issue("1234567890", NOW, valid_days=10, pepper=PEPPER)
    return cn.CustomerNumber.issue(
        customer_number=data.customer_number, kind=data.kind, segment=data.segment,
        holder_name=data.holder_name, contact_email=data.contact_email,
        language=data.language,
        contracts=[cn.Contract.model_validate(x.model_dump(mode="json")) for x in data.contracts],
        password=password, record=record, now=NOW)


def c(contract_id: str, segment: str = "business", status: str = "active") -> cn.Contract:
    return cn.Contract(contract_id=contract_id, product="CompanyFlex", segment=segment,
                       access_number=f"+49{contract_id}", status=status)


def contact(**fields) -> contacts.AuthorisedContact:
    return contacts.AuthorisedContact.model_validate(
        {"_id": "k-1", "company_id": "A", "customer_number": "1", **fields})


def test_one_time_password_is_valid_10_days_and_stored_as_keyed_hash_only():
    password, record = otp.issue("123", NOW, valid_days=10, pepper=PEPPER)
    assert record.expires_at == NOW + timedelta(days=10)
    assert password not in repr(record) and len(password) == 12
    assert otp.matches(record.hash, "123", f" {password.lower()[:6]}-{password[6:]} ", PEPPER)
    assert not otp.matches(record.hash, "123", password, b"other pepper")
    assert not otp.matches(record.hash, "124", password, PEPPER)
    assert len({otp.generate() for _ in range(200)}) == 200


def test_expired_and_used_passwords_are_each_their_own_problem():
    doc = number(c("K-1"))
    doc.check_password_usable(now=NOW + timedelta(days=9))
    with pytest.raises(errors.OneTimePasswordExpired):
        doc.check_password_usable(now=NOW + timedelta(days=10))
    doc.otp = None
    with pytest.raises(errors.OneTimePasswordUsed):
        doc.check_password_usable(now=NOW)


def test_attempts_are_counted_per_password_and_an_unknown_number_like_a_passwordless_one():
    doc = number(c("K-1"))
    first = cn.password_generation(doc)
    password, record = otp.issue("1234567890", NOW + timedelta(days=1), valid_days=10,
                                 pepper=PEPPER)
    doc.set_password(password, record)
    assert first and cn.password_generation(doc) not in ("", first)
    doc.otp = None
    assert cn.password_generation(doc) == cn.password_generation(None) == ""


def test_holder_link_covers_every_contract_uses_up_the_password_and_replaces_a_user_link():
    doc = number(c("K-1"), c("K-2"))
    contract = doc.check_link_rules(company_id="A", link_type="user", contract_id="K-2")
    doc.link(company_id="A", user_id="u", link_type="user", contract=contract, now=NOW)
    assert [x.contract_ids for x in doc.links] == [["K-2"]] and doc.otp is not None
    doc.link(company_id="A", user_id="u", link_type="holder", contract=None, now=NOW)
    (link,) = doc.links
    assert link.link_type == "holder" and doc.otp.used_at == NOW
    with pytest.raises(errors.OneTimePasswordUsed):
        doc.check_password_usable(now=NOW, company_id="A")
    assert [x.contract_id for x in doc.covered_contracts(link)] == ["K-1", "K-2"]
    assert link.rights == RIGHTS
    with pytest.raises(errors.LinkedElsewhere):
        doc.check_link_rules(company_id="B", link_type="holder")
    with pytest.raises(errors.AlreadyLinked):
        doc.check_link_rules(company_id="A", link_type="holder")


def test_mixed_number_now_or_in_the_past_is_not_linked_as_holder_seed003():
    doc = number(c("K-1"), c("K-2"))
    doc.put_contract(c("K-2", segment="private"))
    doc.terminate_contract(c("K-2", segment="private", status="terminated"))
    assert doc.is_mixed
    with pytest.raises(errors.MixedCustomerNumber, match="move the private contracts"):
        doc.check_link_rules(company_id="A", link_type="holder")
    linked = doc.check_link_rules(company_id="A", link_type="user", access_number="+49K-1")
    assert linked is not None and linked.contract_id == "K-1"
    with pytest.raises(errors.ContractTerminated):
        doc.check_link_rules(company_id="A", link_type="user", contract_id="K-2")
    with pytest.raises(errors.ContractRequired):
        doc.check_link_rules(company_id="A", link_type="user")


def test_private_only_number_belongs_to_the_private_customer_centre():
    with pytest.raises(errors.PrivateCustomerNumber, match="private customer centre"):
        number(c("P-1", "private"), segment="private").check_link_rules(company_id="A",
                                                                        link_type="holder")


def test_link_turns_stale_when_every_contract_it_covers_is_terminated():
    doc = number(c("K-1"), c("K-2"))
    doc.link(company_id="A", user_id="u", link_type="holder", contract=None, now=NOW)
    doc.terminate_contract(c("K-1", status="terminated"))
    assert doc.links[0].stale is False
    doc.terminate_contract(c("K-2", status="terminated"))
    assert doc.links[0].stale is True
    with pytest.raises(ValueError):
        doc.terminate_contract(c("K-2"))
    doc.unlink("A")
    assert doc.links == [] and doc.holder_company_id == ""
    with pytest.raises(errors.LinkNotFound):
        doc.unlink("A")


def test_support_reissues_only_a_password_that_can_not_be_used():
    doc = number(c("K-1"))
    with pytest.raises(errors.OneTimePasswordStillValid):
        doc.check_reissue_allowed(now=NOW, someone_locked=False)
    doc.check_reissue_allowed(now=NOW + timedelta(days=11), someone_locked=False)
    doc.check_reissue_allowed(now=NOW, someone_locked=True)


def test_everything_but_commercial_contact_is_transferred():
    assert set(RIGHTS) - set(TRANSFERABLE_RIGHTS) == {"commercial_contact"}


@pytest.mark.parametrize("on,action,allowed,code", [
    (date(2026, 1, 31), "order", False, "not-yet-valid"),
    (date(2026, 2, 1), "order", True, "authorised-contact"),
    (date(2026, 2, 1), "cancel", False, "action-not-authorised"),
    (date(2026, 6, 30), "billing_question", True, "authorised-contact"),
    (date(2026, 7, 1), "order", False, "authorisation-ended"),
])
def test_authorisation_answer_says_yes_or_no_with_the_reason_seed004(on, action, allowed, code):
    person = contact(kind="person", actions=["order", "billing_question"],
                     valid_from="2026-02-01", valid_until="2026-06-30")
    a = contacts.answer(customer_number="1", known=True, holder_company_id="A", action=action,
                        on=on, is_master_admin=False, contact=person)
    assert (a.allowed, a.reason_code) == (allowed, code) and a.reason


def test_no_holder_or_no_contact_means_no():
    kw = dict(customer_number="1", action="order", on=date(2026, 1, 1), contact=None)
    assert contacts.answer(known=False, holder_company_id="", is_master_admin=False,
                           **kw).reason_code == "unknown-customer-number"
    assert contacts.answer(known=True, holder_company_id="", is_master_admin=False,
                           **kw).reason_code == "no-contract-holder-account"
    assert contacts.answer(known=True, holder_company_id="A", is_master_admin=False,
                           **kw).reason_code == "not-authorised"
    assert contacts.answer(known=True, holder_company_id="A", is_master_admin=True,
                           **kw).allowed
