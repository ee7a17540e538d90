"""Issue 11's smaller identity seed points: the single-address invitation's default role
(ID-11, seed 000), sub-administrators invited with their delegated permissions (ID-12), the
activation code's configured validity (ID-2, seed 001), and the company website of the
largest allowed length (issue 11, part 6)."""

from __future__ import annotations

import time

import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.identity import INVITEE_PASSWORD as PASSWORD
from tests.support.identity import (
    accept,
    create_user,
    link_token,
    register_company,
)
from tests.support.tokens import bearer

pytestmark = [pytest.mark.integration, pytest.mark.identity_settings(activation_code_hours=2)]


async def post(http, url, path, headers, body) -> tuple[int, dict]:
    async with http.post(f"{url}{path}", headers=headers, json=body) as r:
        return r.status, await r.json()


async def test_seed000_inviting_by_address_alone_gives_the_role_user(identity):
    """Seed 000: "If you choose the first option, the role "User" is automatically assigned"."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    status, invitation = await post(http, url, "/v1/invitations", admin.auth,
                                    {"email": "cili@example.com"})
    assert status == 201, invitation
    assert (invitation["role"], invitation["permissions"]) == ("user", [])
    accepted = await accept(http, url, await link_token(tap, invitation["invitation_id"]))
    async with http.get(f"{url}/v1/me", headers=bearer(accepted["access_token"])) as r:
        me = await r.json()
    assert me["roles"] == ["user"]


async def test_id12_sub_administrator_is_invited_with_the_delegated_permissions(identity):
    """ID-12: the invitation carries the permissions; the invitee becomes a sub-administrator
    under the inviting master administrator, with exactly those permissions."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    status, invitation = await post(http, url, "/v1/invitations", admin.auth, {
        "email": "sub@example.com", "role": "sub_admin",
        "permissions": ["users:invite", "company:read"]})
    assert status == 201, invitation
    assert invitation["permissions"] == ["company:read", "users:invite"]
    token = await link_token(tap, invitation["invitation_id"])
    async with http.post(f"{url}/v1/invitations/verification", json={"token": token}) as r:
        details = await r.json()
    assert (details["role"], details["permissions"]) == ("sub_admin",
                                                         ["company:read", "users:invite"])
    accepted = await accept(http, url, token)
    sub = bearer(accepted["access_token"])
    async with http.get(f"{url}/v1/me", headers=sub) as r:
        me = await r.json()
    assert me["roles"] == ["sub_admin"]
    assert me["permissions"] == ["company:read", "users:invite"]
    assert me["parent_user_id"] == admin.user_id
    # The delegated permission works: the sub-administrator invites a user ...
    status, _ = await post(http, url, "/v1/invitations", sub, {"email": "user@example.com"})
    assert status == 201
    # ... but may not invite another sub-administrator.
    status, problem = await post(http, url, "/v1/invitations", sub, {
        "email": "sub2@example.com", "role": "sub_admin", "permissions": ["users:invite"]})
    assert status == 403 and problem["type"] == "/problems/role-not-allowed"


async def test_id12_permissions_are_refused_for_other_roles_and_unknown_permissions(identity):
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    status, problem = await post(http, url, "/v1/invitations", admin.auth, {
        "email": "x@example.com", "role": "user", "permissions": ["users:invite"]})
    assert status == 409 and problem["type"] == "/problems/permissions-need-sub-admin"
    status, problem = await post(http, url, "/v1/invitations", admin.auth, {
        "email": "x@example.com", "role": "sub_admin", "permissions": ["everything"]})
    assert status == 422 and problem["errors"][0]["field"].startswith("permissions")


async def test_id2_activation_code_validity_set_in_hours_is_stated_in_email_and_problem(
        identity):
    """ID-2: IDENTITY_ACTIVATION_CODE_HOURS=2 makes a code valid 2 hours; its event (for the
    email), the code request's answer and the expiry problem all say so."""
    url, app, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin, onboarding="activation_code")
    issued = await tap.wait_for("identity.activation_code.issued.v1", user_id=user["user_id"])
    assert issued["data"]["valid_for"] == "PT2H"
    users = unit(app, Identity).store.users.collection
    stored = await users.find_one({"_id": user["user_id"]})
    assert 7100 < stored["activation_expires"] - time.time() <= 7200
    status, answer = await post(http, url, "/v1/activations/code-requests", {},
                                {"email": "nobody@example.com"})
    assert status == 202 and "valid for 2 hours" in answer["detail"]
    # The code's time runs out (moved back rather than waited for).
    await users.update_one({"_id": user["user_id"]},
                           {"$set": {"activation_expires": time.time() - 1}})
    status, problem = await post(http, url, "/v1/activations", {}, {
        "email": user["email"], "code": issued["data"]["code"], "username": "bela.kovacs",
        "password": PASSWORD})
    assert status == 410 and problem["type"] == "/problems/activation-code-expired"
    assert "valid for 2 hours" in problem["detail"]


async def test_website_of_the_largest_allowed_length_never_breaks_the_company_page(identity):
    """Issue 11 part 6: a bare host of 2083 characters becomes 2084 once normalised with "/":
    refused by name, and the company page keeps working; 2082 is stored and served."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)

    def site(length: int) -> str:
        return "https://" + "a" * (length - len("https://") - len(".com")) + ".com"
    async with http.put(f"{url}/v1/company/profile", headers=admin.auth,
                        json={"website": site(2083)}) as r:
        problem = await r.json()
    assert r.status == 422, problem
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("website", "too_long")]
    async with http.get(f"{url}/v1/company", headers=admin.auth) as r:
        assert r.status == 200
    async with http.put(f"{url}/v1/company/profile", headers=admin.auth,
                        json={"website": site(2082)}) as r:
        assert r.status == 200, await r.text()
    async with http.get(f"{url}/v1/company", headers=admin.auth) as r:
        company = await r.json()
    assert r.status == 200 and company["profile"]["website"] == site(2082) + "/"

