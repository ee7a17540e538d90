"""Issue 9 part 4: inviting or creating a user never tells a company that an address has an
account in another company (single invitation, user creation, CSV import rows); only the
address's owner, holding the link, learns that it can not be used. An address of the
company's own users keeps its clear answer."""

from __future__ import annotations

import pytest

from services.identity.domain.invitation_files import CSV
from tests.support.identity import register_company
from tests.support.polling import eventually
from tests.support.uploads import csv_of

pytestmark = pytest.mark.security
PASSWORD = "Einladung!42x"


async def _invite(http, url, who, email) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/invitations", headers=who.auth,
                         json={"email": email, "role": "user"}) as r:
        return r.status, await r.json()


def _shape(answer: dict) -> dict:
    """What an answer says apart from the values that differ between any two addresses."""
    return {k: v for k, v in answer.items()
            if k not in ("invitation_id", "user_id", "email", "expires_at", "created_at")}


async def test_inviting_another_companys_customer_looks_like_inviting_anyone(identity):
    """Company B invites an address that logs in company A: the same 201 and pending
    invitation as for an unknown address; the link's holder is told, on accepting, that the
    address has an account, and B keeps seeing a pending invitation."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    b = await register_company(http, url, tap)
    status, customer = await _invite(http, url, b, a.email)
    status_unknown, stranger = await _invite(http, url, b, "nobody-yet@example.com")
    assert (status, status_unknown) == (201, 201), customer
    assert _shape(customer) == _shape(stranger)
    sent = await tap.wait_for("identity.invitation.sent.v1",
                              invitation_id=customer["invitation_id"])
    async with http.post(f"{url}/v1/invitations/acceptance", json={
            "token": sent["data"]["token"], "first_name": "Eva", "surname": "Nagy",
            "phone": "301112299", "password": PASSWORD}) as r:
        problem = await r.json()
        assert r.status == 409, problem
    assert "already has an account" in problem["detail"]
    async with http.get(f"{url}/v1/invitations/{customer['invitation_id']}",
                        headers=b.auth) as r:
        assert (await r.json())["status"] == "pending"
    async with http.get(f"{url}/v1/users", headers=b.auth) as r:
        assert a.email not in {u["email"] for u in (await r.json())["items"]}


async def test_an_address_of_the_companys_own_user_keeps_its_clear_answer(identity):
    """The administrator sees its own users anyway: 409 email-taken within the company."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    status, problem = await _invite(http, url, a, a.email)
    assert status == 409 and problem["type"] == "/problems/email-taken"


@pytest.mark.parametrize("onboarding", ["activation_code", "temporary_password"])
async def test_creating_a_user_with_another_companys_address_looks_like_any_creation(
        identity, onboarding):
    """POST /v1/users with an address that logs in another company: the same 201, status and
    fields as for a new address; no code or password goes to the address, a new code
    'is sent' like for any account, and the other company's account is untouched."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    b = await register_company(http, url, tap)
    async def create(email: str) -> tuple[int, dict]:
        async with http.post(f"{url}/v1/users", headers=b.auth, json={
                "email": email, "first_name": "Béla", "surname": "Kovács", "role": "user",
                "onboarding": onboarding}) as r:
            return r.status, await r.json()
    status, customer = await create(a.email)
    if onboarding == "activation_code":
        async with http.post(f"{url}/v1/users/{customer['user_id']}/activation-code",
                             headers=b.auth) as r:
            assert r.status == 202, await r.text()
    status_new, fresh = await create(f"fresh-{onboarding}@example.com")
    assert (status, status_new) == (201, 201), customer
    assert _shape(customer) == _shape(fresh)
    kind = ("identity.activation_code.issued.v1" if onboarding == "activation_code"
            else "identity.temporary_password.issued.v1")
    # Written after the other account's, so its event comes after any sent for that one.
    await tap.wait_for(kind, user_id=fresh["user_id"])
    assert tap.of(kind, user_id=customer["user_id"]) == []
    assert [e for e in tap.of("identity.activation_code.issued.v1")
            + tap.of("identity.temporary_password.issued.v1")
            if e["data"]["email"] == a.email] == []
    async with http.get(f"{url}/v1/users/{customer['user_id']}", headers=b.auth) as r:
        assert r.status == 200 and (await r.json())["email"] == a.email
    async with http.get(f"{url}/v1/me", headers=a.auth) as r:
        assert r.status == 200 and (await r.json())["email"] == a.email


async def test_an_import_row_of_another_companys_customer_is_reported_like_any_other(
        identity):
    """A CSV row with an address that logs in another company is invited like a new one:
    the job's report does not single it out."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    b = await register_company(http, url, tap)
    async with http.post(f"{url}/v1/invitation-jobs", headers={**b.auth, "Content-Type": CSV},
                         data=csv_of([a.email, "someone-new@example.com"])) as r:
        job = await r.json()
        assert r.status == 202, job

    async def completed():
        async with http.get(f"{url}/v1/invitation-jobs/{job['job_id']}", headers=b.auth) as r:
            report = await r.json()
        return report if report["status"] == "completed" else None
    done = await eventually(completed, seconds=30)
    assert (done["invited"], done["failed"], done["rejected_rows"]) == (2, 0, [])
