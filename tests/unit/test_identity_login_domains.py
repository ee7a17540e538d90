"""Company login domains proposed from company names (ID-14, seed 002 "admin@cégnév")."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from services.identity.domain import handles
from shared.errors import InvalidInput

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("company_name,proposal", [
    ("Muster GmbH", "muster"),
    ("Kovács és Társa Kft.", "kovacs-es-tarsa"),
    ("Őrült Ötletek Zrt.", "orult-otletek"),
    ("Größe & Söhne AG", "grosse-sohne"),
    ("Ærø Bygg", "aero-bygg"),
    ("Kft.", "kft"),
    ("AB", "ab-co"),
    ("Москва ООО", "company"),
])
def test_seed002_login_domain_is_proposed_from_the_company_name(company_name, proposal):
    assert handles.propose(company_name) == proposal


def test_a_proposal_fits_the_login_domain_rules_however_long_the_name():
    proposal = handles.propose("Nagyon Hosszú Nevű Építőipari Szolgáltató és Kereskedelmi Kft.")
    assert 3 <= len(proposal) <= 27 and proposal == proposal.lower()
    valid = TypeAdapter(handles.LoginDomain)
    for name in ("A" * 200, "AB", "Kft.", "x y z " * 20):
        for candidate in handles.candidates(name):
            assert valid.validate_python(candidate) == candidate


def test_taken_proposals_are_followed_by_a_bounded_number_of_suffixed_ones():
    names = list(handles.candidates("Alpha Kft."))
    assert names[:3] == ["alpha", "alpha-2", "alpha-3"]
    assert len(names) == 1 + handles.NUMBERED_SUFFIXES + handles.RANDOM_SUFFIXES


def test_seed002_name_at_domain_only_with_the_own_login_domain():
    handles.check_username("bela.kovacs", "alpha", ["user"])
    handles.check_username("Bela@Alpha", "alpha", ["user"])
    handles.check_username("admin@alpha", "alpha", ["company_admin"])
    with pytest.raises(InvalidInput) as foreign:
        handles.check_username("admin@alpha", "beta", ["company_admin"])
    assert foreign.value.errors[0]["rule"] == "own_login_domain"
    with pytest.raises(InvalidInput) as reserved:
        handles.check_username("Admin@alpha", "alpha", ["sub_admin"])
    assert reserved.value.errors[0]["rule"] == "admin_reserved"
