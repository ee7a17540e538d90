"""The contracts service as tests meet it: the real app in the test's process with real
RabbitMQ and MongoDB, identity played by the tests' token authority, the CRM and identity
played by publishing their events, and a tap on what contracts publishes. The ``contracts``
fixture (``tests/conftest.py``) gives a ``ContractsUnderTest``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.app_keys import METRICS
from tests.support.events import EventTap
from tests.support.polling import eventually
from tests.support.services import envelope, publish
from tests.support.tokens import TokenAuthority

ISSUED = "crm.customer_number.issued.v1"
ADDED = "crm.contract.added.v1"
CHANGED = "crm.contract.changed.v1"
TERMINATED = "crm.contract.terminated.v1"
OTP_ISSUED = "contracts.one_time_password.issued.v1"


@dataclass
class Caller:
    company_id: str
    user_id: str
    email: str
    token: str


class ContractsUnderTest:
    def __init__(self, server: TestServer, authority: TokenAuthority, tap: EventTap,
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
        return self.authority.client_token(scope)

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
