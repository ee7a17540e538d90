"""Seed 001 "Festnetz-Kundennummer verbinden" across real processes: identity registers the
company and signs the token, the CRM issues the number, contracts links it (CON-1, CON-2)."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.services import envelope, publish

pytestmark = pytest.mark.e2e


async def test_master_administrator_links_landline_customer_number_with_one_time_password(
        platform, amqp_url, bus_prefix):
    number = str(uuid.uuid4().int % 10**10).rjust(10, "1")
    contracts = platform["contracts"].url
    async with EventTap(amqp_url, bus_prefix, "identity.#", "contracts.#") as tap, \
            aiohttp.ClientSession() as http:
        account = await register_company(http, platform["identity"].url, tap)
        await publish(amqp_url, bus_prefix, envelope("crm.customer_number.issued.v1", {
            "customer_number": number, "kind": "landline", "segment": "business",
            "holder_name": "Muster GmbH", "contact_email": account.email, "language": "de",
            "contracts": [{"contract_id": "K-1", "product": "Cloud PBX", "segment": "business",
                           "access_number": "+4930123456", "status": "active"}]},
            source="/crm"))
        issued = await tap.wait_for("contracts.one_time_password.issued.v1",
                                    customer_number=number, seconds=30)
        password = issued["data"]["one_time_password"]

        async with http.post(f"{contracts}/v1/links", headers=account.auth, json={
                "customer_number": number, "one_time_password": "WRONG-WRONG-1"}) as r:
            assert r.status == 422
            assert (await r.json())["type"] == "/problems/wrong-one-time-password"
        async with http.post(f"{contracts}/v1/links", headers=account.auth, json={
                "customer_number": number, "one_time_password": password}) as r:
            body = await r.json()
            assert r.status == 201, body
            assert body["link_type"] == "holder"
        async with http.get(f"{contracts}/v1/contracts", headers=account.auth) as r:
            listed = await r.json()
            assert [c["access_number"] for c in listed["contracts"]] == ["+4930123456"]
        async with http.get(f"{contracts}/v1/contract-space", headers=account.auth) as r:
            assert (await r.json())["customer_numbers"] == [number]
        await tap.wait_for("contracts.customer_number.linked.v1", customer_number=number,
                           company_id=account.company_id)
    assert password not in platform.all_log_text()
