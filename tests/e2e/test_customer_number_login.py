"""Seed 004 "Login zum Kunden-Portal" across real processes (identity, contracts, notifications):
"Falls Sie bisher keinen Login haben, können Sie sich mit der 'Passwort vergessen'-Funktion ein
Einmal-Kennwort anfordern, welches an Ihre E-Mail Adresse gesendet wird, die bei Ihnen als
Referenz-Adresse hinterlegt ist … Als Benutzername verwenden Sie bitte Ihre Kunden-Nummer."
"""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest

from tests.support.polling import eventually
from tests.support.services import envelope, publish

pytestmark = pytest.mark.e2e
PASSWORD = "Eigenes!Pass58"
LINK = re.compile(r"https://portal\.test/password/reset\?token=([A-Za-z0-9_\-]+)")


async def test_seed004_holder_without_login_sets_a_password_by_email_and_logs_in_with_the_customer_number(  # noqa: E501
        platform, smtp_server, amqp_url, bus_prefix):
    _, inbox = smtp_server
    identity, contracts = platform["identity"].url, platform["contracts"].url
    number = str(uuid.uuid4().int % 10**10).rjust(10, "1")
    reference = f"office-{uuid.uuid4().hex[:8]}@muster.example"
    async with aiohttp.ClientSession() as http:
        # The CRM issues the number, naming the holder's reference address.
        await publish(amqp_url, bus_prefix, envelope("crm.customer_number.issued.v1", {
            "customer_number": number, "kind": "landline", "segment": "business",
            "holder_name": "Muster GmbH", "contact_email": reference, "language": "de",
            "contracts": [{"contract_id": "K-1", "product": "Cloud PBX",
                           "segment": "business", "access_number": "+4930123456",
                           "status": "active"}]}, source="/crm"))

        async def identity_knows_the_number() -> bool:
            async with http.get(f"{identity}/metrics") as r:
                return ('bap_events_consumed_total{outcome="ok",'
                        'type="crm.customer_number.issued.v1"}' in await r.text())
        await eventually(identity_knows_the_number, 30, 0.2)

        # "Passwort vergessen" with the customer number.
        async with http.post(f"{identity}/v1/password-resets/customer-number",
                             json={"customer_number": number}) as r:
            assert r.status == 202, await r.text()

        async def access_email():
            for m in inbox.messages:
                if m["To"] == reference and LINK.search(m.get_body(("plain",)).get_content()):
                    return m
            return None
        email = await eventually(access_email, 30, 0.2)
        text = email.get_body(("plain",)).get_content()
        assert number in text and "Kundennummer" in text  # the username to use
        token = LINK.search(text).group(1)

        async with http.post(f"{identity}/v1/password-resets/completion", json={
                "token": token, "new_password": PASSWORD,
                "new_password_repeat": PASSWORD}) as r:
            assert r.status == 204, await r.text()

        async with http.post(f"{identity}/v1/sessions",
                             json={"login": number, "password": PASSWORD}) as r:
            session = await r.json()
            assert r.status == 200, session
        assert session["status"] == "authenticated"
        auth = {"Authorization": f"Bearer {session['access_token']}"}

        # contracts linked the number to the new company as contract holder.
        async def holder_link():
            async with http.get(f"{contracts}/v1/links", headers=auth) as r:
                links = (await r.json()).get("links", []) if r.status == 200 else []
            return [x for x in links if x["customer_number"] == number]
        [link] = await eventually(holder_link, 30, 0.2)
        assert link["link_type"] == "holder"
        async with http.get(f"{contracts}/v1/contracts", headers=auth) as r:
            assert [c["contract_id"] for c in (await r.json())["contracts"]] == ["K-1"]

        # Once contracts' link reached identity, the number still logs in the same account.
        async def logs_in_after_link() -> bool:
            async with http.get(f"{identity}/metrics") as r:
                seen = ('bap_events_consumed_total{outcome="ok",'
                        'type="contracts.customer_number.linked.v1"}' in await r.text())
            if not seen:
                return False
            async with http.post(f"{identity}/v1/sessions",
                                 json={"login": number, "password": PASSWORD}) as r:
                return r.status == 200 and (await r.json())["status"] == "authenticated"
        assert await eventually(logs_in_after_link, 30, 0.2)
    assert token not in platform.all_log_text()
