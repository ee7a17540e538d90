"""Driving identity over HTTP from tests: register a company, log in (SMS step included)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import aiohttp

from tests.support.events import EventTap

IDENTITY_EVENTS = ("identity.#",)


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
async def identity_running(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str,
                           **overrides):
    """identity in the test's process on a free port, verifying its own tokens; yields
    (base url, app). Database and queues are removed afterwards."""
    from aiohttp.test_utils import TestServer

    from services.identity.app import build
    from services.identity.settings import IdentitySettings
    from shared import mongo
    from shared.bus import Topology
    from tests.support.broker import delete_topology
    from tests.support.processes import free_port

    port = free_port()
    settings = IdentitySettings(
        mongodb_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
        database=f"it_{unique}_identity", retry_delays=[0.2, 0.5], relay_poll_seconds=0.2,
        jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
        **{"dev_mode": True, **overrides})
    server = TestServer(build(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}", server.app
    finally:
        await server.close()
        client = mongo.connect(mongo_url)
        await client.drop_database(settings.database_name)
        await client.close()
        await delete_topology(amqp_url, Topology(bus_prefix, "identity"),
                              settings.retry_delays)
