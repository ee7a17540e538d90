"""billing as a real process with identity's real tokens: a registered company's
administrator sets up payment methods (BIL-2, BIL-3, BIL-4), and a card number sent by
mistake is neither answered back nor written to any log."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

PAN = "5555555555554444"


async def wait_for_account(http: aiohttp.ClientSession, url: str, auth: dict,
                           seconds: float = 30) -> dict:
    async def account() -> dict | None:
        async with http.get(f"{url}/v1/billing-account", headers=auth) as r:
            if r.status == 200:
                return await r.json()
            assert r.status == 404, await r.text()
            return None
    return await eventually(account, seconds, 0.2, message="no billing account")


async def test_registered_administrator_sets_up_and_switches_payment_methods(
        platform, amqp_url, bus_prefix):
    billing = platform["billing"].url
    async with EventTap(amqp_url, bus_prefix, "identity.#", "billing.#") as tap, \
            aiohttp.ClientSession() as http:
        admin = await register_company(http, platform["identity"].url, tap)
        account = await wait_for_account(http, billing, admin.auth)
        assert account["company_id"] == admin.company_id

        async with http.post(f"{billing}/v1/payment-methods", headers=admin.auth, json={
                "kind": "paypal", "billing_agreement_id": "B-5YM39163N4795124R",
                "payer_email": "pay@muster.example"}) as r:
            assert r.status == 201, await r.text()
            paypal = await r.json()
        # Local default: the card sandbox confirms tok_sandbox_ tokens as sent.
        card = {"kind": "credit_card", "provider_token": "tok_sandbox_visa1", "brand": "visa",
                "last4": "4242", "exp_month": 12, "exp_year": 2099}
        async with http.post(f"{billing}/v1/payment-methods", headers=admin.auth,
                             json={**card, "holder_name": f"Anna {PAN}"}) as r:
            assert r.status == 422
            text = await r.text()
            assert "card-number-in-body" in text and PAN not in text
        async with http.post(f"{billing}/v1/payment-methods", headers=admin.auth,
                             json=card) as r:
            assert r.status == 201, await r.text()
            visa = await r.json()
            assert visa["active"] and visa["display"] == "Visa •••• 4242"
        async with http.post(f"{billing}/v1/payment-methods/{paypal['id']}/activation",
                             headers=admin.auth) as r:
            assert r.status == 200 and (await r.json())["active"]
        event = await tap.wait_for("billing.payment_method.activated.v1",
                                   payment_method_id=paypal["id"],
                                   previous_payment_method_id=visa["id"])
        assert event["data"]["invoice_email"] == admin.email
        async with http.get(f"{billing}/v1/payment-methods", headers=admin.auth) as r:
            methods = await r.json()
        assert [m["active"] for m in methods["items"]] == [True, False]

    assert PAN not in platform.all_log_text()


async def test_seed000_administrator_updates_a_card_and_removes_the_active_method_and_is_told(
        platform, smtp_server, amqp_url, bus_prefix):
    """Seed 000 "change an existing one": the card's new expiry, then the active card removed;
    the other method takes over, and the company's address gets a notice of each change."""
    _, inbox = smtp_server
    billing = platform["billing"].url
    async with EventTap(amqp_url, bus_prefix, "identity.#", "billing.#") as tap, \
            aiohttp.ClientSession() as http:
        admin = await register_company(http, platform["identity"].url, tap, language="en")
        await wait_for_account(http, billing, admin.auth)
        async with http.post(f"{billing}/v1/payment-methods", headers=admin.auth, json={
                "kind": "paypal", "billing_agreement_id": "B-5YM39163N4795124R",
                "payer_email": "pay@muster.example"}) as r:
            paypal = await r.json()
        async with http.post(f"{billing}/v1/payment-methods", headers=admin.auth, json={
                "kind": "credit_card", "provider_token": "tok_sandbox_visa1", "brand": "visa",
                "last4": "4242", "exp_month": 12, "exp_year": 2098}) as r:
            visa = await r.json()
        async with http.patch(f"{billing}/v1/payment-methods/{visa['id']}", headers=admin.auth,
                              json={"provider_token": "tok_sandbox_visa2", "exp_month": 3,
                                    "exp_year": 2099}) as r:
            assert r.status == 200, await r.text()
        async with http.delete(f"{billing}/v1/payment-methods/{visa['id']}",
                               headers=admin.auth) as r:
            assert r.status == 200, await r.text()
            after = await r.json()
        assert after["active_payment_method_id"] == paypal["id"]

        async def notices() -> dict[str, str]:
            return {m["Subject"]: m.get_body(preferencelist=("plain",)).get_content()
                    for m in inbox.messages if m["To"] == admin.email}

        wanted = {"Your credit card was updated", "A payment method was removed"}

        async def both_sent() -> bool:
            return wanted <= set(await notices())
        await eventually(both_sent, 30, 0.2, message=lambda: f"notices {wanted}; got "
                         f"{[m['Subject'] for m in inbox.messages if m['To'] == admin.email]}")
        got = await notices()
        assert "Visa •••• 4242" in got["Your credit card was updated"]
        assert "03/2099" in got["Your credit card was updated"]
        assert "Visa •••• 4242" in got["A payment method was removed"]
    assert "tok_sandbox_visa2" not in platform.all_log_text()
