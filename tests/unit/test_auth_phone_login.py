"""ID-6 (seed 002 "Belépés telefonszámmal"): what a mobile-number login passes, decided by the
phone-login permissions its company allows and never by the roles of the account behind it."""

from __future__ import annotations

import pytest

from shared.auth import (
    COMPANY_ADMIN,
    DEFAULT_PHONE_LOGIN_PERMISSIONS,
    PHONE_CONTRACTS,
    PHONE_INVOICES,
    PHONE_LOGIN_PERMISSIONS,
    PHONE_NOTIFICATIONS,
    Access,
    Principal,
)
from shared.errors import Forbidden
from shared.phones import phone_key

pytestmark = pytest.mark.unit


def phone_login(*perms: str, roles: tuple[str, ...] = ()) -> Principal:
    return Principal(subject="u-1", kind="user", company_id="c-1", roles=frozenset(roles),
                     permissions=frozenset(perms), amr=("sms",), phone="+36301234567")


def refusal(access: Access, p: Principal) -> Forbidden:
    with pytest.raises(Forbidden) as caught:
        access.check(p)
    return caught.value


def test_seed002_phone_login_reaches_a_route_naming_a_permission_its_company_allows():
    Access.of(roles=(COMPANY_ADMIN,), phone_permission=PHONE_INVOICES).check(
        phone_login(PHONE_INVOICES))


def test_seed002_phone_login_is_refused_what_the_administrator_switched_off():
    problem = refusal(Access.of(phone_permission=PHONE_INVOICES), phone_login(PHONE_CONTRACTS))
    assert problem.slug == "phone-login-permission"
    assert problem.extra["required_permissions"] == [PHONE_INVOICES]


def test_seed002_phone_login_never_passes_on_roles_or_permissions_of_a_company_login():
    # A route without a phone-login permission stays closed whatever the token claims.
    for access in (Access(), Access.of(roles=(COMPANY_ADMIN,)),
                   Access.of(permissions=(PHONE_INVOICES,))):
        problem = refusal(access, phone_login(*PHONE_LOGIN_PERMISSIONS, roles=(COMPANY_ADMIN,)))
        assert problem.slug == "phone-login-scope"


def test_seed002_company_login_is_unaffected_by_a_routes_phone_login_permission():
    admin = Principal(subject="u-2", kind="user", company_id="c-1",
                      roles=frozenset({COMPANY_ADMIN}))
    Access.of(roles=(COMPANY_ADMIN,), phone_permission=PHONE_CONTRACTS).check(admin)
    user = Principal(subject="u-3", kind="user", company_id="c-1",
                     permissions=frozenset({PHONE_CONTRACTS}))
    assert refusal(Access.of(roles=(COMPANY_ADMIN,), phone_permission=PHONE_CONTRACTS),
                   user).slug == "forbidden"


def test_seed002_the_documented_list_is_the_default_and_unknown_names_are_refused():
    assert set(DEFAULT_PHONE_LOGIN_PERMISSIONS) == {PHONE_CONTRACTS, PHONE_INVOICES,
                                                    PHONE_NOTIFICATIONS}
    with pytest.raises(ValueError):
        Access.of(phone_permission="own_number:orders")


@pytest.mark.parametrize("written", ["+36301234567", "06301234567", "301234567",
                                     "+36 30 123 4567"])
def test_seed002_an_access_number_matches_the_login_number_however_it_is_written(written):
    assert phone_key(written) == "+36301234567"
