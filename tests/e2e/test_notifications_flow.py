"""Notifications with the platform as real processes: identity's tokens open the delivery log,
and a notice for a registered company goes out in the company administrator's language
(NOT-2, NOT-3)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from tests.support.polling import eventually
from tests.support.services import envelope, publish

pytestmark = pytest.mark.e2e


async def test_company_administrator_reads_and_resends_their_invoice_notice(
        platform, smtp_server, amqp_url, bus_prefix):
    _, inbox = smtp_server
    identity, notifications = platform["identity"].url, platform["notifications"].url
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{identity}/v1/registrations",
                             json={"email": "zsofia@example.com", "language": "hu"}) as r:
            assert r.status == 202
        mail = await inbox.wait_for("zsofia@example.com")
        text = mail.get_body(preferencelist=("plain",)).get_content()
        token = parse_qs(urlparse(re.search(r"https://portal\.test/\S+", text).group(0))
                         .query)["token"][0]
        async with http.post(f"{identity}/v1/registrations/completion", json={
                "token": token, "first_name": "Zsófia", "surname": "Nagy",
                "company_name": "Nagy Kft.", "phone": "301234567",
                "password": "Titkos!Jelszo42"}) as r:
            assert r.status == 201, await r.text()
            done = await r.json()
        auth = {"Authorization": f"Bearer {done['access_token']}"}

        # billing's invoice notice, without a language: the administrator's (hu) is used
        invoice = envelope("billing.invoice.recorded.v1", {
            "company_id": done["company_id"], "invoice_id": "inv-1", "number": "R-2026-000123",
            "amount_minor": 4990, "currency": "EUR", "due_date": "2026-12-15",
            "payment_method_display": "Visa •••• 4242",
            "invoice_email": "zsofia@example.com"}, company_id=done["company_id"])

        async def log() -> list[dict]:
            async with http.get(f"{notifications}/v1/deliveries", headers=auth,
                                params={"kind": "invoice_issued"}) as r:
                assert r.status == 200, await r.text()
                return (await r.json())["items"]

        # the administrator is known to notifications once identity's event arrived
        async def projected() -> bool:
            async with http.get(f"{notifications}/metrics") as r:
                return ('bap_events_consumed_total{outcome="ok",'
                        'type="identity.company.registered.v1"}' in await r.text())
        await eventually(projected, 30, 0.2)
        await publish(amqp_url, bus_prefix, invoice)
        await eventually(log, 30, 0.2)
        notices = await eventually(lambda: _subject_with(inbox, "R-2026-000123"), 30, 0.2)

        async def sent() -> list[dict] | None:
            # A message can be resent once the log shows it sent (the SMTP server may have it
            # a moment before notifications has recorded it).
            items = await log()
            return items if [i["status"] for i in items] == ["sent"] else None
        [entry] = await eventually(sent, 30, 0.2)
        assert notices[0]["Content-Language"] == "hu"
        assert "számlája" in notices[0]["Subject"]
        assert entry["recipient"] == "z***@example.com" and entry["language"] == "hu"

        async with http.post(f"{notifications}/v1/deliveries/{entry['id']}/resend",
                             headers=auth) as r:
            assert r.status == 202, await r.text()
        await eventually(lambda: _subject_with(inbox, "R-2026-000123", count=2), 30, 0.2)


async def _subject_with(inbox, text: str, count: int = 1):
    found = [m for m in inbox.messages if text in (m["Subject"] or "")]
    return found if len(found) >= count else None
