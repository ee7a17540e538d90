"""The contracts service as the tests of its integration tier meet it: the real app on a free
port with real RabbitMQ and MongoDB, identity played by a local JWKS server signing tokens,
the CRM and identity played by publishing their events, and a tap on what contracts publishes.

Other ``test_contracts_*`` files import ``contracts`` (the fixture) and the helpers from here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from services.contracts.app import build
from services.contracts.settings import ContractsSettings
from shared.app_keys import METRICS
from tests.support.events import EventTap
from tests.support.services import envelope, eventually, publish, running, settings_for

pytestmark = pytest.mark.integration

ISSUED = "crm.customer_number.issued.v1"
ADDED = "crm.contract.added.v1"
CHANGED = "crm.contract.changed.v1"
TERMINATED = "crm.contract.terminated.v1"
OTP_ISSUED = "contracts.one_time_password.issued.v1"


class Authority:
    """Plays identity's token side: an Ed25519 key, its JWKS over HTTP, signed tokens."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.key = Ed25519PrivateKey.generate()
        self.url = ""

    def app(self) -> web.Application:
        async def jwks(_request: web.Request) -> web.Response:
            jwk = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
            return web.json_response({"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA",
                                                "use": "sig"}]})
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", jwks)
        return app

    def token(self, *, key: Ed25519PrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": "bap-identity", "aud": "bap", "typ": "user", "amr": ["pwd"],
                "perms": [], "iat": now, "exp": now + 600, **claims}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key or self.key,
                          algorithm="EdDSA", headers={"kid": self.kid})


@dataclass
class Caller:
    company_id: str
    user_id: str
    email: str
    token: str


class ContractsUnderTest:
    def __init__(self, server: TestServer, authority: Authority, tap: EventTap,
                 amqp_url: str, bus_prefix: str, http: aiohttp.ClientSession) -> None:
        self.server, self.authority, self.tap = server, authority, tap
        self.amqp_url, self.bus_prefix, self.http = amqp_url, bus_prefix, http
        self.sent: Counter[str] = Counter()

    @property
    def app(self) -> web.Application:
        return self.server.app

    def consumed(self, etype: str, outcome: str = "ok") -> float:
        return self.app[METRICS].registry.get_sample_value(
            "bap_events_consumed_total", {"type": etype, "outcome": outcome}) or 0

    def parked(self) -> float:
        """Messages parked so far, of any type (one that fails decoding has no type yet)."""
        return sum(s.value for m in self.app[METRICS].registry.collect()
                   for s in m.samples if s.name == "bap_events_parked_total")

    # -- what the outside publishes ------------------------------------------------------------
    async def deliver(self, *envelopes: dict) -> None:
        """Publish and wait until the service has handled every one of them."""
        await publish(self.amqp_url, self.bus_prefix, *envelopes)
        self.sent.update(e["type"] for e in envelopes)
        await eventually(lambda: all(self.consumed(t) >= n for t, n in self.sent.items()))

    async def issue_number(self, number: str, *, kind: str = "landline",
                           segment: str = "business", contracts: list[dict] | None = None,
                           email: str = "it@muster.example") -> str:
        """The CRM issues a number; returns the one-time password from the access event."""
        await self.deliver(crm_issued(number, kind=kind, segment=segment,
                                      contracts=contracts, email=email))
        event = await self.tap.wait_for(OTP_ISSUED, customer_number=number)
        return event["data"]["one_time_password"]

    async def company(self, name: str = "Muster GmbH") -> Caller:
        """identity registers a company; its first user is the master administrator."""
        company_id, user_id = f"c-{uuid.uuid4().hex[:10]}", f"u-{uuid.uuid4().hex[:10]}"
        email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
        await self.deliver(envelope("identity.company.registered.v1", {
            "company_id": company_id, "company_name": name, "admin_user_id": user_id,
            "admin_email": email, "admin_first_name": "Anna", "admin_surname": "Muster",
            "admin_phone": "+36301234567", "language": "de"},
            company_id=company_id, source="/services/identity"))
        return Caller(company_id, user_id, email, self.user_token(company_id, user_id,
                                                                  ["company_admin"]))

    async def user(self, company_id: str, roles: list[str]) -> Caller:
        user_id = f"u-{uuid.uuid4().hex[:10]}"
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        await self.deliver(user_activated(company_id, user_id, email, roles))
        return Caller(company_id, user_id, email, self.user_token(company_id, user_id, roles))

    def user_token(self, company_id: str, user_id: str, roles: list[str]) -> str:
        return self.authority.token(sub=user_id, cid=company_id, roles=roles)

    def support_token(self, scope: str = "contracts:support") -> str:
        return self.authority.token(sub="support-desk", typ="client", cid=None, roles=None,
                                    amr=None, scope=scope)

    # -- HTTP ------------------------------------------------------------------------------
    async def call(self, method: str, path: str, token: str | None = None, *,
                   json: Any = None, params: dict | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.server.make_url(path), json=json,
                                     params=params, headers=headers) as r:
            body = await r.json() if r.content_type.endswith("json") else await r.text()
            return r.status, body

    async def link(self, caller: Caller, number: str, password: str,
                   **extra: Any) -> tuple[int, Any]:
        return await self.call("POST", "/v1/links", caller.token, json={
            "customer_number": number, "one_time_password": password, **extra})

    async def contracts_of(self, caller: Caller) -> dict[str, dict]:
        status, body = await self.call("GET", "/v1/contracts", caller.token)
        assert status == 200, body
        return {c["contract_id"]: c for c in body["contracts"]}


def contract(contract_id: str, product: str = "CompanyFlex", *, segment: str = "business",
             access_number: str | None = None, status: str = "active") -> dict:
    c = {"contract_id": contract_id, "product": product, "segment": segment,
         "access_number": access_number or f"+4930{uuid.uuid4().int % 10**7:07d}",
         "status": status, "started_on": "2024-01-01"}
    if status == "terminated":
        c["terminated_on"] = "2026-01-31"
    return c


def crm_issued(number: str, *, kind: str = "landline", segment: str = "business",
               contracts: list[dict] | None = None, email: str = "it@muster.example") -> dict:
    return envelope(ISSUED, {
        "customer_number": number, "kind": kind, "segment": segment,
        "holder_name": "Muster GmbH", "contact_email": email, "language": "de",
        "contracts": contracts if contracts is not None else [contract(f"{number}-K1")]},
        source="/crm")


def crm_contract(etype: str, number: str, c: dict) -> dict:
    return envelope(etype, {"customer_number": number, "contract": c}, source="/crm")


def user_activated(company_id: str, user_id: str, email: str, roles: list[str]) -> dict:
    return envelope("identity.user.activated.v1", {
        "user_id": user_id, "company_id": company_id, "email": email, "first_name": "Béla",
        "surname": "Kovács", "roles": roles, "parent_user_id": None, "language": "hu"},
        company_id=company_id, source="/services/identity")


def new_number() -> str:
    return str(uuid.uuid4().int % 10**10).rjust(10, "1")


@pytest.fixture
async def contracts(mongo_url, amqp_url, bus_prefix, unique):
    authority = Authority()
    jwks = TestServer(authority.app(), host="127.0.0.1")
    await jwks.start_server()
    authority.url = str(jwks.make_url("/.well-known/jwks.json"))
    settings = settings_for(ContractsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                            bus_prefix=bus_prefix, unique=unique, otp_max_attempts=3)
    settings = settings.model_copy(update={"jwks_url": authority.url})
    try:
        async with running(build, settings) as server, \
                EventTap(amqp_url, bus_prefix, "contracts.#") as tap, \
                aiohttp.ClientSession() as http:
            yield ContractsUnderTest(server, authority, tap, amqp_url, bus_prefix, http)
    finally:
        await jwks.close()


# -- the harness's own proof: only identity's tokens open the API ------------------------------
async def test_calls_without_a_token_of_identity_are_refused(contracts):
    admin = await contracts.company()
    status, _ = await contracts.call("GET", "/v1/links", admin.token)
    assert status == 200
    forged = contracts.authority.token(key=Ed25519PrivateKey.generate(), sub=admin.user_id,
                                       cid=admin.company_id, roles=["company_admin"])
    for token in (None, forged):
        status, body = await contracts.call("GET", "/v1/links", token)
        assert status == 401 and body["type"].startswith("/problems/")


async def test_only_master_administrators_link_and_only_support_clients_ask_support_questions(
        contracts):
    """Seed 001: "Rollen: Masteradministrator"; support endpoints need `contracts:support`."""
    admin = await contracts.company()
    user = await contracts.user(admin.company_id, ["user"])
    status, body = await contracts.link(user, "1234567890", "ABCDEFGHJKMN")
    assert status == 403, body
    status, _ = await contracts.call("POST", "/v1/support/customer-numbers/1234567890/"
                                     "one-time-password", admin.token)
    assert status == 403
    status, _ = await contracts.call("POST", "/v1/support/customer-numbers/1234567890/"
                                     "one-time-password", contracts.support_token("other:read"))
    assert status == 403
