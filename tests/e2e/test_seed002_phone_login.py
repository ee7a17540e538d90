"""Seed 002 "Belépés telefonszámmal" across real processes: a login with a mobile number and
its SMS code reaches that number's contract (contracts), its invoices (billing) and the own
notification preferences (notifications); the master administrator switches one of them off
in the user rights settings and the next token of that login is refused it (ID-6)."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.polling import eventually
from tests.support.services import envelope, publish

pytestmark = pytest.mark.e2e


async def test_seed002_phone_login_reaches_contract_invoices_preferences_until_switched_off(
        platform, amqp_url, bus_prefix):
    identity, contracts = platform["identity"].url, platform["contracts"].url
    billing, notifications = platform["billing"].url, platform["notifications"].url
    number = str(uuid.uuid4().int % 10**10).rjust(10, "1")
    async with EventTap(amqp_url, bus_prefix, "identity.#", "contracts.#") as tap, \
            aiohttp.ClientSession() as http:
        admin = await register_company(http, identity, tap, phone="+36301234567")
        # The CRM issues the company's mobile customer number: two SIMs, one of them the
        # administrator's own phone; the administrator links it (seed 001).
        await publish(amqp_url, bus_prefix, envelope("crm.customer_number.issued.v1", {
            "customer_number": number, "kind": "mobile", "segment": "business",
            "holder_name": "Muster GmbH", "contact_email": admin.email, "language": "hu",
            "contracts": [
                {"contract_id": "K-1", "product": "Mobil Flex", "segment": "business",
                 "access_number": "+36301234567", "status": "active"},
                {"contract_id": "K-2", "product": "Mobil Flex", "segment": "business",
                 "access_number": "+36309999999", "status": "active"}]}, source="/crm"))
        issued = await tap.wait_for("contracts.one_time_password.issued.v1",
                                    customer_number=number, seconds=30)
        async with http.post(f"{contracts}/v1/links", headers=admin.auth, json={
                "customer_number": number,
                "one_time_password": issued["data"]["one_time_password"]}) as r:
            assert r.status == 201, await r.text()
        for n, customer_number in ((1, number), (2, None)):
            await publish(amqp_url, bus_prefix, envelope("invoicing.invoice.issued.v1", {
                "invoice_id": f"inv-{n}", "company_id": admin.company_id,
                "number": f"R-2026-{n:06d}", "issued_at": "2026-11-30T08:00:00Z",
                "due_date": "2026-12-15", "currency": "HUF", "amount_minor": 990000,
                "lines": [], "customer_number": customer_number},
                company_id=admin.company_id, source="/invoicing"))

        # Seed 002: the number, the SMS code, "Belépek".
        async with http.post(f"{identity}/v1/sessions/phone", json={"phone": "301234567"}) as r:
            step = await r.json()
        sent = await tap.wait_for("identity.login_code.requested.v1",
                                  login_attempt_id=step["login_attempt_id"])
        async with http.post(f"{identity}/v1/sessions/code", json={
                "login_attempt_id": step["login_attempt_id"],
                "code": sent["data"]["code"]}) as r:
            session = await r.json()
            assert r.status == 200 and session["status"] == "authenticated", session
        phone = {"Authorization": f"Bearer {session['access_token']}"}

        async with http.get(f"{contracts}/v1/contracts", headers=phone) as r:
            listed = await r.json()
            assert r.status == 200, listed
        assert [(c["contract_id"], c["access_number"]) for c in listed["contracts"]] == [
            ("K-1", "+36301234567")]

        async def own_invoices():
            async with http.get(f"{billing}/v1/invoices", headers=phone) as r:
                page = await r.json()
                assert r.status == 200, page
                return page if page["items"] else None
        # billing learns the link and the invoice by events
        page = await eventually(own_invoices, 30, 0.2)
        assert [i["invoice_id"] for i in page["items"]] == ["inv-1"]

        async with http.put(f"{notifications}/v1/me/notification-preferences", headers=phone,
                            json={"email": False, "sms": True}) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{notifications}/v1/me/notification-preferences",
                            headers=admin.auth) as r:
            assert await r.json() == {"email": False, "sms": True}

        # "Felhasználói jogok beállítása": the administrator takes the invoices away.
        async with http.patch(f"{identity}/v1/company/settings", headers=admin.auth, json={
                "phone_login_permissions": ["own_number:read",
                                            "own_number:notifications"]}) as r:
            assert r.status == 200, await r.text()
        async with http.post(f"{identity}/v1/sessions/refresh",
                             json={"refresh_token": session["refresh_token"]}) as r:
            renewed = await r.json()
            assert r.status == 200, renewed
        phone = {"Authorization": f"Bearer {renewed['access_token']}"}
        async with http.get(f"{billing}/v1/invoices", headers=phone) as r:
            problem = await r.json()
            assert r.status == 403 and problem["type"] == "/problems/phone-login-permission"
        async with http.get(f"{contracts}/v1/contracts", headers=phone) as r:
            assert r.status == 200
        async with http.get(f"{contracts}/v1/links", headers=phone) as r:
            assert r.status == 403  # never the company's administration
