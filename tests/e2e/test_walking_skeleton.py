"""The thinnest real slice through all four services (ID-1 → NOT-1 → billing and contracts)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


async def poll_json(session: aiohttp.ClientSession, url: str, token: str,
                    seconds: float = 30) -> dict:
    """``url``'s answer once it is no longer 404."""
    async def answer() -> dict | None:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            if r.status == 200:
                return await r.json()
            assert r.status == 404, await r.text()
            return None
    return await eventually(answer, seconds, 0.2, message=f"{url} still 404")


async def test_registration_by_email_creates_company_with_billing_account_and_contract_space(
        platform, smtp_server):
    """ID-1: email → verification email over SMTP → link → mandatory fields → the company
    exists, and billing and contracts each opened their side of it."""
    _, inbox = smtp_server
    identity = platform["identity"].url
    password = "Sicher!Pass42"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{identity}/v1/registrations",
                             json={"email": "anna.kovacs@example.com", "language": "hu"}) as r:
            assert r.status == 202

        mail = await inbox.wait_for("anna.kovacs@example.com")
        assert "regisztr" in mail["Subject"].lower()
        text = mail.get_body(preferencelist=("plain",)).get_content()
        html = mail.get_body(preferencelist=("html",)).get_content()
        link = re.search(r"https://portal\.test/\S+", text).group(0)
        assert link in html.replace("&amp;", "&")
        token = parse_qs(urlparse(link).query)["token"][0]

        async with http.post(f"{identity}/v1/registrations/verification",
                             json={"token": token}) as r:
            assert r.status == 200
            assert (await r.json())["email"] == "anna.kovacs@example.com"

        async with http.post(f"{identity}/v1/registrations/completion", json={
            "token": token, "first_name": "Anna", "surname": "Kovács",
            "company_name": "Kovács Kft.", "phone": "301234567", "password": password,
        }) as r:
            assert r.status == 201, await r.text()
            done = await r.json()
        access = done["access_token"]

        account = await poll_json(http, f"{platform['billing'].url}/v1/billing-account", access)
        assert account["company_id"] == done["company_id"]
        assert account["company_name"] == "Kovács Kft."
        space = await poll_json(http, f"{platform['contracts'].url}/v1/contract-space", access)
        assert space["company_id"] == done["company_id"]
        assert space["customer_numbers"] == []

        for url in (f"{platform['billing'].url}/v1/billing-account",
                    f"{platform['contracts'].url}/v1/contract-space"):
            async with http.get(url) as r:
                assert r.status == 401
                assert r.content_type == "application/problem+json"
            async with http.get(url, headers={"Authorization": "Bearer not-a-token"}) as r:
                assert r.status == 401

        async with http.post(f"{identity}/v1/sessions", json={
                "login": "anna.kovacs@example.com", "password": password}) as r:
            assert r.status == 200
        async with http.get(f"{identity}/v1/me",
                            headers={"Authorization": f"Bearer {access}"}) as r:
            me = await r.json()
            assert me["roles"] == ["company_admin"] and me["phone"] == "+36301234567"

    logs = platform.all_log_text()
    for secret in (token, password, access, link):
        assert secret not in logs
    assert "registration_verification" in logs  # the logs were captured at all


async def test_completing_a_registration_twice_is_refused_and_makes_one_company(
        platform, smtp_server):
    _, inbox = smtp_server
    identity = platform["identity"].url
    async with aiohttp.ClientSession() as http:
        await http.post(f"{identity}/v1/registrations", json={"email": "bob@example.com"})
        mail = await inbox.wait_for("bob@example.com")
        text = mail.get_body(preferencelist=("plain",)).get_content()
        token = parse_qs(urlparse(re.search(r"https://\S+", text).group(0)).query)["token"][0]
        form = {"token": token, "first_name": "Bob", "surname": "Builder",
                "company_name": "Bob GmbH", "phone": "+4930123456", "password": "Bauen!2024x"}
        async with http.post(f"{identity}/v1/registrations/completion", json=form) as r:
            assert r.status == 201
        async with http.post(f"{identity}/v1/registrations/completion", json=form) as r:
            assert r.status == 409
            assert (await r.json())["type"] == "/problems/registration-completed"
