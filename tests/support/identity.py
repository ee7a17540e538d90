"""identity for tests: started in the test's process, and driven over HTTP — register a
company, log in (SMS step included)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiohttp
from aiohttp import web

from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.processes import free_port
from tests.support.services import running, settings_for
from tests.support.tokens import bearer

IDENTITY_EVENTS = ("identity.#",)
#: The setting that decides whether an identity process runs invitation imports.
RUN_JOBS = "invitation_jobs"
NEW_PASSWORD = "Andere!Pass93"  # what a user's first login sets
INVITEE_PASSWORD = "Einladung!42x"  # what an invitee accepting sets


@dataclass
class Account:
    company_id: str
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register_company(http: aiohttp.ClientSession, identity_url: str, tap: EventTap, *,
                           email: str | None = None, password: str = "Sicher!Pass42",
                           company_name: str = "Muster GmbH", phone: str = "+36301234567",
                           language: str = "de") -> Account:
    """ID-1 end to end: the verification token is read from the event notifications gets."""
    email = email or f"admin-{uuid.uuid4().hex[:8]}@example.com"
    async with http.post(f"{identity_url}/v1/registrations",
                         json={"email": email, "language": language}) as r:
        assert r.status == 202, await r.text()
    started = await tap.wait_for("identity.registration.started.v1", email=email)
    async with http.post(f"{identity_url}/v1/registrations/completion", json={
            "token": started["data"]["token"], "first_name": "Anna", "surname": "Muster",
            "company_name": company_name, "phone": phone, "password": password}) as r:
        body = await r.json()
        assert r.status == 201, body
    return Account(body["company_id"], body["user_id"], email, password, body["access_token"],
                   body["refresh_token"])


async def log_in(http: aiohttp.ClientSession, identity_url: str, tap: EventTap, login: str,
                 password: str) -> dict:
    """Password login, answering the SMS step with the code from the event if asked."""
    async with http.post(f"{identity_url}/v1/sessions",
                         json={"login": login, "password": password}) as r:
        body = await r.json()
        assert r.status == 200, body
    if body["status"] == "code_required":
        sent = await tap.wait_for("identity.login_code.requested.v1",
                                  login_attempt_id=body["login_attempt_id"])
        async with http.post(f"{identity_url}/v1/sessions/code", json={
                "login_attempt_id": body["login_attempt_id"],
                "code": sent["data"]["code"]}) as r:
            body = await r.json()
            assert r.status == 200, body
    return body


@contextlib.asynccontextmanager
async def identity_running(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str, *,
                           jobs: bool = True, **overrides: Any
                           ) -> AsyncIterator[tuple[str, web.Application]]:
    """identity in the test's process on a free port, verifying its own tokens; yields
    (base url, app). ``overrides`` are settings; ``jobs=False`` starts it without the
    background runner of invitation imports. Database and queues are removed afterwards."""
    from services.identity.app import build
    from services.identity.settings import IdentitySettings

    port = free_port()
    settings = settings_for(IdentitySettings, mongo_url=mongo_url, amqp_url=amqp_url,
                            bus_prefix=bus_prefix, unique=unique,
                            jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
                            **{RUN_JOBS: jobs, **overrides})
    async with running(build, settings, port=port) as server:
        yield f"http://127.0.0.1:{port}", server.app


class IdentityUnderTest(NamedTuple):
    """What the ``identity`` fixture gives: its base url, its app, a tap on its events and an
    HTTP session (``url, app, tap, http = identity``)."""

    url: str
    app: web.Application
    tap: EventTap
    http: aiohttp.ClientSession


# -- users and invitations, as an administrator and an invitee meet them ---------------------
async def create_user(http, url, admin: Account, *, role="user", onboarding="temporary_password",
                      expect=201, **extra) -> dict:
    body = {"email": extra.pop("email", None) or f"u-{uuid.uuid4().hex[:10]}@example.com",
            "first_name": "Béla", "surname": "Kovács", "role": role, "onboarding": onboarding,
            **extra}
    async with http.post(f"{url}/v1/users", json=body, headers=admin.auth) as r:
        answer = await r.json()
        assert r.status == expect, answer
    return answer


async def first_login(http, url, tap, user: dict) -> str:
    """ID-7: log in with the temporary password, change it; the access token after."""
    issued = await tap.wait_for("identity.temporary_password.issued.v1",
                                user_id=user["user_id"])
    session = await log_in(http, url, tap, issued["data"]["login_id"],
                           issued["data"]["temporary_password"])
    async with http.post(f"{url}/v1/me/password", headers=bearer(session["access_token"]), json={
            "current_password": issued["data"]["temporary_password"],
            "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD}) as r:
        assert r.status == 204, await r.text()
    return (await log_in(http, url, tap, issued["data"]["login_id"], NEW_PASSWORD))[
        "access_token"]


async def accept(http, url, token, expect=201) -> dict:
    async with http.post(f"{url}/v1/invitations/acceptance", json={
            "token": token, "first_name": "Cili", "surname": "Szabó", "phone": "301112233",
            "password": INVITEE_PASSWORD}) as r:
        body = await r.json()
        assert r.status == expect, body
    return body


async def link_token(tap, invitation_id: str, count: int = 1) -> str:
    sent = await eventually(lambda: (lambda found: found if len(found) >= count else None)(
        tap.of("identity.invitation.sent.v1", invitation_id=invitation_id)))
    return sent[-1]["data"]["token"]


async def wait_for_job(http, url, admin, job_id: str) -> dict:
    async def done():
        async with http.get(f"{url}/v1/invitation-jobs/{job_id}", headers=admin.auth) as r:
            job = await r.json()
            assert r.status == 200, job
        return job if job["status"] == "completed" else None
    return await eventually(done, seconds=30)


async def every_page(http: aiohttp.ClientSession, url: str, auth: dict[str, str], key: str,
                     limit: int = 2) -> list[Any]:
    """Walk a list page by page with its ``next_cursor``, as the portal does: every page has at
    most ``limit`` items; the ``key`` of each item, in the order the pages gave them."""
    seen: list[Any] = []
    cursor = None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        async with http.get(url, params=params, headers=auth) as r:
            page = await r.json()
            assert r.status == 200, page
        assert len(page["items"]) <= limit
        seen += [item[key] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
