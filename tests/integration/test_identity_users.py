"""User administration (ID-7, ID-12, ID-14): accounts created by administrators, roles,
sub-administrators and their parent, deactivation, unlocking, tenant isolation."""

from __future__ import annotations

import uuid

import pytest

from tests.support.identity import (
    NEW_PASSWORD,
    Account,
    create_user,
    every_page,
    first_login,
    log_in,
    register_company,
)
from tests.support.tokens import bearer

pytestmark = [pytest.mark.integration, pytest.mark.identity_settings(login_failures_before_lock=3)]


async def test_temporary_password_account_must_change_password_before_anything_else(identity):
    """ID-7 + ID-14: an administrator creates `bela@muster` with a generated password, sent
    only inside the event; the first login works only for changing it."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin, username="bela@muster")
    assert user["status"] == "active" and user["password_change_required"] is True
    issued = await tap.wait_for("identity.temporary_password.issued.v1",
                                user_id=user["user_id"])
    assert issued["data"]["login_id"] == "bela@muster"
    activated = await tap.wait_for("identity.user.activated.v1", user_id=user["user_id"])
    assert activated["data"]["parent_user_id"] == admin.user_id
    temporary = issued["data"]["temporary_password"]
    session = await log_in(http, url, tap, "Bela@Muster", temporary)
    assert session["password_change_required"] is True
    async with http.get(f"{url}/v1/me/parent", headers=bearer(session["access_token"])) as r:
        assert r.status == 403
        assert (await r.json())["type"] == "/problems/password-change-required"
    async with http.post(f"{url}/v1/me/password", headers=bearer(session["access_token"]), json={
            "current_password": temporary, "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD}) as r:
        assert r.status == 204, await r.text()
    again = await log_in(http, url, tap, "bela@muster", NEW_PASSWORD)
    assert again["password_change_required"] is False
    async with http.get(f"{url}/v1/me/parent", headers=bearer(again["access_token"])) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["email"] == admin.email


async def test_sub_administrator_sees_its_master_administrator_and_the_master_has_no_parent(
        identity):
    """ID-12: a company administrator makes a user a sub-administrator with chosen
    permissions; the sub-administrator reads its parent's contact details."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin)
    token = await first_login(http, url, tap, user)
    async with http.put(f"{url}/v1/users/{user['user_id']}/role", headers=admin.auth, json={
            "role": "sub_admin", "permissions": ["users:invite", "company:read"]}) as r:
        changed = await r.json()
        assert r.status == 200, changed
    assert changed["roles"] == ["sub_admin"]
    assert changed["permissions"] == ["company:read", "users:invite"]
    assert changed["parent_user_id"] == admin.user_id
    event = await tap.wait_for("identity.user.role_changed.v1", user_id=user["user_id"])
    assert event["data"]["roles"] == ["sub_admin"]
    assert event["data"]["permissions"] == ["company:read", "users:invite"]
    async with http.get(f"{url}/v1/me/parent", headers=bearer(token)) as r:
        parent = await r.json()
    assert r.status == 200 and parent == {
        "user_id": admin.user_id, "first_name": "Anna", "surname": "Muster",
        "email": admin.email, "phone": "+36301234567"}
    async with http.get(f"{url}/v1/me/parent", headers=admin.auth) as r:
        problem = await r.json()
    assert r.status == 404 and problem["type"] == "/problems/no-parent"
    assert "master administrator" in problem["detail"]


async def test_administrator_lists_users_page_by_page_filtered_by_role_and_status(identity):
    """ID-12: cursor pagination by id; filters by role and status."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    created = [await create_user(http, url, admin, onboarding="activation_code"),
               await create_user(http, url, admin, onboarding="activation_code"),
               await create_user(http, url, admin, role="billing_admin")]
    seen = await every_page(http, f"{url}/v1/users", admin.auth, "user_id")
    assert sorted(seen) == sorted([admin.user_id, *(u["user_id"] for u in created)])
    async with http.get(f"{url}/v1/users", params={"role": "billing_admin"},
                        headers=admin.auth) as r:
        assert [u["user_id"] for u in (await r.json())["items"]] == [created[2]["user_id"]]
    async with http.get(f"{url}/v1/users", params={"status": "pending_activation"},
                        headers=admin.auth) as r:
        pending = {u["user_id"] for u in (await r.json())["items"]}
    assert pending == {created[0]["user_id"], created[1]["user_id"]}
    async with http.get(f"{url}/v1/users", params={"role": "owner"}, headers=admin.auth) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "query.role"


async def test_sub_administrator_invites_users_and_billing_admins_but_never_administrators(
        identity):
    """ID-12 / ID-11: `users:invite` allows inviting users and billing administrators only;
    without `users:manage` no role changes."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    sub = await create_user(http, url, admin, role="sub_admin", permissions=["users:invite"])
    assert sub["parent_user_id"] == admin.user_id
    token = await first_login(http, url, tap, sub)
    async with http.post(f"{url}/v1/invitations", headers=bearer(token),
                         json={"email": "cili@example.com", "role": "billing_admin"}) as r:
        assert r.status == 201, await r.text()
    for role in ("company_admin",):
        async with http.post(f"{url}/v1/invitations", headers=bearer(token),
                             json={"email": "dora@example.com", "role": role}) as r:
            assert r.status == 403 and (await r.json())["type"] == "/problems/role-not-allowed"
    for role in ("company_admin", "sub_admin"):
        async with http.post(f"{url}/v1/users", headers=bearer(token), json={
                "email": "dora@example.com", "first_name": "Dóra", "surname": "Nagy",
                "role": role}) as r:
            assert r.status == 403, await r.text()
    created = await create_user(http, url, Account("", "", "", "", token, ""), role="user")
    assert created["parent_user_id"] == admin.user_id  # under the master, not the sub-admin
    async with http.put(f"{url}/v1/users/{created['user_id']}/role", headers=bearer(token),
                        json={"role": "billing_admin"}) as r:
        assert r.status == 403


async def test_sub_administrator_with_users_manage_changes_non_administrators_only(identity):
    """ID-12: `users:manage` changes roles of and deactivates users and billing
    administrators, never administrators, and gives no administrator role."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    sub = await create_user(http, url, admin, role="sub_admin", permissions=["users:manage"])
    token = await first_login(http, url, tap, sub)
    plain = await create_user(http, url, admin)
    other_admin = await create_user(http, url, admin, role="company_admin")
    async with http.put(f"{url}/v1/users/{plain['user_id']}/role", headers=bearer(token),
                        json={"role": "billing_admin"}) as r:
        assert r.status == 200 and (await r.json())["roles"] == ["billing_admin"]
    async with http.put(f"{url}/v1/users/{plain['user_id']}/role", headers=bearer(token),
                        json={"role": "company_admin"}) as r:
        assert r.status == 403 and (await r.json())["type"] == "/problems/role-not-allowed"
    for path in (f"/v1/users/{other_admin['user_id']}/deactivation",
                 f"/v1/users/{admin.user_id}/deactivation"):
        async with http.post(f"{url}{path}", headers=bearer(token)) as r:
            assert r.status == 403, await r.text()
    async with http.post(f"{url}/v1/users/{plain['user_id']}/deactivation",
                         headers=bearer(token)) as r:
        assert r.status == 200 and (await r.json())["status"] == "deactivated"


async def test_billing_admin_and_user_can_not_administer_users(identity):
    """ID-12: billing administrators and users can not invite, create, list or change."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    for role in ("billing_admin", "user"):
        someone = await create_user(http, url, admin, role=role)
        token = await first_login(http, url, tap, someone)
        calls = [("POST", "/v1/invitations", {"email": "x@example.com", "role": "user"}),
                 ("POST", "/v1/invitations", {"email": "x@example.com",
                                              "role": "company_admin"}),
                 ("POST", "/v1/users", {"email": "x@example.com", "first_name": "X",
                                        "surname": "Y", "role": "user"}),
                 ("PUT", f"/v1/users/{admin.user_id}/role", {"role": "user"}),
                 ("POST", f"/v1/users/{admin.user_id}/deactivation", None),
                 ("GET", "/v1/users", None)]
        for method, path, body in calls:
            async with http.request(method, f"{url}{path}", json=body,
                                    headers=bearer(token)) as r:
                assert r.status == 403, (role, path, await r.text())


async def test_deactivated_user_is_logged_out_and_can_not_log_in_until_reactivated(identity):
    """ID-12: deactivation ends the user's sessions and is published; reactivation too."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin)
    await first_login(http, url, tap, user)
    session = await log_in(http, url, tap, user["email"], NEW_PASSWORD)
    async with http.post(f"{url}/v1/users/{user['user_id']}/deactivation",
                         headers=admin.auth) as r:
        assert r.status == 200 and (await r.json())["status"] == "deactivated"
    await tap.wait_for("identity.user.deactivated.v1", user_id=user["user_id"])
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": session["refresh_token"]}) as r:
        assert r.status == 401
    async with http.post(f"{url}/v1/sessions", json={"login": user["email"],
                                                     "password": NEW_PASSWORD}) as r:
        assert r.status == 401
    async with http.post(f"{url}/v1/users/{user['user_id']}/reactivation",
                         headers=admin.auth) as r:
        assert r.status == 200 and (await r.json())["status"] == "active"
    await tap.wait_for("identity.user.reactivated.v1", user_id=user["user_id"])
    assert (await log_in(http, url, tap, user["email"], NEW_PASSWORD))["access_token"]


async def test_administrator_can_not_deactivate_or_demote_themselves(identity):
    """ID-12: the company always keeps the administrator who acts."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/users/{admin.user_id}/deactivation",
                         headers=admin.auth) as r:
        assert r.status == 403 and (await r.json())["type"] == "/problems/own-account"
    async with http.put(f"{url}/v1/users/{admin.user_id}/role", headers=admin.auth,
                        json={"role": "user"}) as r:
        assert r.status == 403 and (await r.json())["type"] == "/problems/own-account"


async def test_permissions_are_only_for_sub_administrators(identity):
    """ID-12: delegated permissions come from the fixed set and only with role sub_admin."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin)
    async with http.put(f"{url}/v1/users/{user['user_id']}/role", headers=admin.auth,
                        json={"role": "user", "permissions": ["users:invite"]}) as r:
        assert r.status == 409
        assert (await r.json())["type"] == "/problems/permissions-need-sub-admin"
    async with http.put(f"{url}/v1/users/{user['user_id']}/role", headers=admin.auth,
                        json={"role": "sub_admin", "permissions": ["root:all"]}) as r:
        assert r.status == 422


async def test_administrator_unlocks_a_user_locked_by_wrong_passwords(identity):
    """ID-12: after too many wrong passwords the user is locked; an administrator sees it
    and lifts the lock."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user = await create_user(http, url, admin)
    await first_login(http, url, tap, user)
    for _ in range(3):
        async with http.post(f"{url}/v1/sessions", json={"login": user["email"],
                                                         "password": "Falsch!Pass11"}) as r:
            assert r.status == 401
    async with http.post(f"{url}/v1/sessions", json={"login": user["email"],
                                                     "password": NEW_PASSWORD}) as r:
        assert r.status == 401  # locked: the right password does not help
    async with http.get(f"{url}/v1/users/{user['user_id']}", headers=admin.auth) as r:
        assert (await r.json())["locked"] is True
    async with http.post(f"{url}/v1/users/{user['user_id']}/unlock", headers=admin.auth) as r:
        assert r.status == 200 and (await r.json())["locked"] is False
    assert (await log_in(http, url, tap, user["email"], NEW_PASSWORD))["access_token"]


async def test_no_user_endpoint_reaches_another_company(identity):
    """ID-12 tenant isolation: company B's administrator can not read or change company A's
    users; it sees only its own."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    b = await register_company(http, url, tap)
    user = await create_user(http, url, a, onboarding="activation_code")
    uid = user["user_id"]
    calls = [("GET", f"/v1/users/{uid}", None),
             ("PUT", f"/v1/users/{uid}/role", {"role": "billing_admin"}),
             ("POST", f"/v1/users/{uid}/deactivation", None),
             ("POST", f"/v1/users/{uid}/reactivation", None),
             ("POST", f"/v1/users/{uid}/unlock", None),
             ("POST", f"/v1/users/{uid}/activation-code", None),
             ("GET", f"/v1/users/{a.user_id}", None)]
    for method, path, body in calls:
        async with http.request(method, f"{url}{path}", json=body, headers=b.auth) as r:
            assert r.status == 404, (path, await r.text())
            assert (await r.json())["type"] == "/problems/user-not-found"
    async with http.get(f"{url}/v1/users", headers=b.auth) as r:
        assert [u["user_id"] for u in (await r.json())["items"]] == [b.user_id]
    async with http.get(f"{url}/v1/users/{uid}", headers=a.auth) as r:
        assert r.status == 200 and (await r.json())["roles"] == ["user"]


async def test_deactivated_administrator_can_not_administer_with_a_token_still_valid(identity):
    """ID-12: the stored account decides, not only the token: a deactivated company
    administrator's unexpired access token creates and changes nothing."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    other = await create_user(http, url, admin, role="company_admin")
    token = await first_login(http, url, tap, other)
    async with http.post(f"{url}/v1/users/{other['user_id']}/deactivation",
                         headers=admin.auth) as r:
        assert r.status == 200
    async with http.post(f"{url}/v1/invitations", headers=bearer(token),
                         json={"email": "pal@example.com", "role": "user"}) as r:
        assert r.status == 403 and (await r.json())["type"] == "/problems/account-inactive"
    async with http.post(f"{url}/v1/users/{admin.user_id}/deactivation",
                         headers=bearer(token)) as r:
        assert r.status == 403


async def test_idempotency_key_gives_the_same_account_and_refuses_another_request(identity):
    """ID-7: a repeated POST /v1/users with its Idempotency-Key creates nothing new; the key
    with another body is refused and reserves nothing for the existing account."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    headers = {**admin.auth, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"email": "dora@example.com", "first_name": "Dóra", "surname": "Kiss",
            "role": "user", "onboarding": "temporary_password"}
    answers = []
    for _ in range(2):
        async with http.post(f"{url}/v1/users", json=body, headers=headers) as r:
            answers.append((r.status, (await r.json())["user_id"]))
    assert answers[0][0] == 201 and answers[0][1] == answers[1][1]
    async with http.post(f"{url}/v1/users", json={**body, "email": "eve@example.com"},
                         headers=headers) as r:
        assert r.status == 422 and (await r.json())["type"] == "/problems/idempotency-key-reused"
    # eve@example.com is free: an account for her can be created normally.
    await create_user(http, url, admin, email="eve@example.com")
