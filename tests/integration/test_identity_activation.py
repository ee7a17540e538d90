"""Accounts requested by an administrator, activated with a code (ID-2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.identity import create_user, log_in, register_company
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.identity_settings(activation_code_tries=3)]
PASSWORD = "Eigenes!Pass58"


async def requested_account(http, url, tap, admin) -> tuple[dict, dict]:
    user = await create_user(http, url, admin, onboarding="activation_code",
                             role="billing_admin")
    issued = await tap.wait_for("identity.activation_code.issued.v1", user_id=user["user_id"])
    return user, issued


async def activate(http, url, email, code, username="bela.kovacs", password=PASSWORD):
    async with http.post(f"{url}/v1/activations", json={
            "email": email, "code": code, "username": username, "password": password}) as r:
        return r.status, await r.json()


async def test_requested_account_is_activated_with_its_code_a_username_and_a_password(
        identity):
    """ID-2: the code (valid 10 days) comes by email; code + username + password make the
    account active, and the person can log in with the username."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user, issued = await requested_account(http, url, tap, admin)
    assert user["status"] == "pending_activation"
    expires = datetime.fromisoformat(issued["data"]["expires_at"])
    assert timedelta(days=9, hours=23) < expires - datetime.now(UTC) <= timedelta(days=10)
    status, session = await activate(http, url, user["email"], issued["data"]["code"])
    assert status == 200, session
    assert session["status"] == "authenticated" and session["access_token"]
    activated = await tap.wait_for("identity.user.activated.v1", user_id=user["user_id"])
    assert activated["data"]["roles"] == ["billing_admin"]
    assert (await log_in(http, url, tap, "bela.kovacs", PASSWORD))["access_token"]
    async with http.get(f"{url}/v1/users/{user['user_id']}", headers=admin.auth) as r:
        shown = await r.json()
    assert shown["status"] == "active" and shown["username"] == "bela.kovacs"
    status, problem = await activate(http, url, user["email"], issued["data"]["code"])
    assert status == 400 and problem["type"] == "/problems/activation-code-invalid"


@pytest.mark.parametrize("username", ["bela1", "b" * 33, "béla.kovács"])
async def test_username_must_have_6_to_32_plain_characters(identity, username):
    """ID-2: usernames of 6–32 characters."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user, issued = await requested_account(http, url, tap, admin)
    status, problem = await activate(http, url, user["email"], issued["data"]["code"],
                                     username=username)
    assert status == 422 and problem["errors"][0]["field"] == "username"


async def test_password_is_checked_against_the_policy_and_the_username(identity):
    """ID-2 with ID-3: the password may not contain the chosen username."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user, issued = await requested_account(http, url, tap, admin)
    status, problem = await activate(http, url, user["email"], issued["data"]["code"],
                                     username="kovacs.bela", password="Kovacs.bela!9")
    assert status == 422 and "not_username" in [e["rule"] for e in problem["errors"]]
    status, _ = await activate(http, url, user["email"], issued["data"]["code"],
                               username="kovacs.bela")
    assert status == 200


async def test_expired_code_is_refused_clearly_and_a_new_code_can_be_requested(identity):
    """ID-2: an expired code answers 410 `activation-code-expired` naming how to get a new
    one; asking for one answers the same for unknown addresses; the new code works and the
    old one no longer does."""
    url, app, tap, http = identity
    admin = await register_company(http, url, tap)
    user, issued = await requested_account(http, url, tap, admin)
    await unit(app, Identity).store.users.collection.update_one(
        {"_id": user["user_id"]}, {"$set": {"activation_expires": time.time() - 1}})
    status, problem = await activate(http, url, user["email"], issued["data"]["code"])
    assert status == 410 and problem["type"] == "/problems/activation-code-expired"
    assert "/v1/activations/code-requests" in problem["detail"]
    answers = []
    for email in (user["email"], "nobody@example.com"):
        async with http.post(f"{url}/v1/activations/code-requests", json={"email": email}) as r:
            answers.append((r.status, await r.json()))
    assert answers[0] == answers[1] and answers[0][0] == 202
    codes = await eventually(lambda: (lambda found: found if len(found) == 2 else None)(
        tap.of("identity.activation_code.issued.v1", user_id=user["user_id"])))
    renewed = codes[-1]
    assert renewed["data"]["code"] != issued["data"]["code"]
    status, _ = await activate(http, url, user["email"], issued["data"]["code"])
    assert status == 400
    status, session = await activate(http, url, user["email"], renewed["data"]["code"])
    assert status == 200, session


async def test_wrong_codes_are_limited_then_only_a_new_code_helps(identity):
    """ID-2: a code allows a few wrong tries (here 3); then even the right code is refused
    until a new one is sent."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user, issued = await requested_account(http, url, tap, admin)
    left = []
    for _ in range(3):
        status, problem = await activate(http, url, user["email"], "WRONGCODE2")
        assert status == 400
        left.append(problem["tries_left"])
    assert left == [2, 1, 0]
    status, problem = await activate(http, url, user["email"], issued["data"]["code"])
    assert status == 429 and problem["type"] == "/problems/too-many-tries"
    async with http.post(f"{url}/v1/users/{user['user_id']}/activation-code",
                         headers=admin.auth) as r:
        assert r.status == 202, await r.text()
    newest = (await eventually(lambda: (lambda found: found if len(found) == 2 else None)(
        tap.of("identity.activation_code.issued.v1", user_id=user["user_id"]))))[-1]
    status, _ = await activate(http, url, user["email"], newest["data"]["code"])
    assert status == 200


async def test_unknown_address_gets_the_same_answer_as_a_wrong_code(identity):
    """ID-2: activation reveals nothing about which addresses have accounts."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    user, _ = await requested_account(http, url, tap, admin)
    status_known, known = await activate(http, url, user["email"], "WRONGCODE2")
    status_unknown, unknown = await activate(http, url, "nobody@example.com", "WRONGCODE2")
    assert status_known == status_unknown == 400
    assert known["type"] == unknown["type"] == "/problems/activation-code-invalid"
    # Tries are counted for an unknown address too: the same detail, the same tries left.
    assert (known["detail"], known["tries_left"]) == (unknown["detail"], unknown["tries_left"])


async def test_username_taken_by_another_account_is_refused(identity):
    """ID-2: usernames are unique login ids."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    first, first_code = await requested_account(http, url, tap, admin)
    second, second_code = await requested_account(http, url, tap, admin)
    assert (await activate(http, url, first["email"], first_code["data"]["code"]))[0] == 200
    status, problem = await activate(http, url, second["email"], second_code["data"]["code"],
                                     username="BELA.KOVACS")
    assert status == 409 and problem["type"] == "/problems/login-id-taken"
