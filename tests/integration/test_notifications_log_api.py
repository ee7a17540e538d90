"""The delivery log over HTTP: search, resend, tenant isolation; a user's preferences
(NOT-3, NOT-4). Tokens are signed by a test authority whose JWKS the service fetches."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from scripts import catalogue
from shared.app_keys import DB
from shared.logging import configure_logging
from tests.support.gateways import SmsGateway
from tests.support.notifications import COMPANY_A, COMPANY_B, service
from tests.support.polling import eventually
from tests.support.services import consumed, envelope, publish
from tests.support.tokens import TokenAuthority, bearer

pytestmark = pytest.mark.integration

EXAMPLES = {s.type: s.example for s in catalogue.published()}


def event_of(etype: str, **changes) -> dict:
    data = {**EXAMPLES[etype], **changes}
    return envelope(etype, data, company_id=data.get("company_id"), source="/tests")


def admin_of(authority: TokenAuthority, company: str) -> dict:
    return bearer(authority.token(sub=f"admin-{company}", cid=company, roles=["company_admin"]))


async def all_consumed(app, events: list[dict]) -> None:
    for e in events:
        await eventually(lambda e=e: consumed(app, e["type"]) >= sum(
            1 for x in events if x["type"] == e["type"]))


async def test_company_administrator_sees_only_their_own_companys_messages(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3 tenant isolation: another company's log entries can not be listed, read or
    resent; a plain user can not read the log at all."""
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            server, http, authority, _):
        a = event_of("billing.invoice.recorded.v1", company_id=COMPANY_A,
                     invoice_email="ap@a.example")
        b = event_of("billing.invoice.recorded.v1", company_id=COMPANY_B,
                     invoice_email="ap@b.example")
        await publish(amqp_url, bus_prefix, a, b)
        await all_consumed(server.app, [a, b])

        async with http.get("/v1/deliveries", headers=admin_of(authority, COMPANY_A)) as r:
            assert r.status == 200, await r.text()
            page = await r.json()
        assert [d["event_id"] for d in page["items"]] == [a["id"]]
        assert page["items"][0]["recipient"] == "a***@a.example"
        b_id = (await server.app[DB]["deliveries"].find_one({"event_id": b["id"]}))["_id"]

        admin_a = admin_of(authority, COMPANY_A)
        async with http.get("/v1/deliveries", params={"company_id": COMPANY_B},
                            headers=admin_a) as r:
            assert r.status == 403
        async with http.get(f"/v1/deliveries/{b_id}", headers=admin_a) as r:
            assert r.status == 404
        async with http.post(f"/v1/deliveries/{b_id}/resend", headers=admin_a) as r:
            assert r.status == 404
        user = bearer(authority.token(cid=COMPANY_A, roles=["user"]))
        async with http.get("/v1/deliveries", headers=user) as r:
            assert r.status == 403
        async with http.get("/v1/deliveries") as r:
            assert r.status == 401


async def test_support_finds_messages_by_recipient_kind_status_and_time_page_by_page(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3: search by exact address (matched through its hash), phone in any format, kind,
    status and time; the cursor walks every page once."""
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            server, http, authority, _):
        events = [event_of("billing.invoice.recorded.v1", invoice_email="ap@a.example",
                           company_id=COMPANY_A, number=f"R-{i}") for i in range(3)]
        events += [event_of("identity.password.changed.v1", company_id=COMPANY_B),
                   event_of("identity.login_code.requested.v1", company_id=COMPANY_B)]
        await publish(amqp_url, bus_prefix, *events)
        await all_consumed(server.app, events)
        support = bearer(authority.client_token("notifications:read"))

        async def search(**params) -> dict:
            async with http.get("/v1/deliveries", params=params, headers=support) as r:
                assert r.status == 200, await r.text()
                return await r.json()

        assert len((await search(recipient="AP@A.example"))["items"]) == 3
        [sms] = (await search(recipient="301234567"))["items"]
        assert sms["kind"] == "login_code" and sms["channel"] == "sms"
        assert "1234567" not in sms["recipient"]
        assert len((await search(company_id=COMPANY_B))["items"]) == 2
        assert len((await search(kind="password_changed", status="sent"))["items"]) == 1
        assert (await search(status="failed"))["items"] == []
        assert (await search(since="2999-01-01T00:00:00Z"))["items"] == []
        assert len((await search(until="2999-01-01T00:00:00Z"))["items"]) == 5

        seen, cursor = [], None
        while True:
            page = await search(limit=2, **({"cursor": cursor} if cursor else {}))
            seen += [d["id"] for d in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert len(seen) == len(set(seen)) == 5
        async with http.get("/v1/deliveries", params={"kind": "fax"}, headers=support) as r:
            assert r.status == 422
            assert (await r.json())["errors"][0]["field"] == "query.kind"


async def test_resend_repeats_a_notice_but_refuses_a_message_that_carried_a_link(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3/NOT-4: a notice is rendered again from its stored values and sent; a message
    with a code or link is refused with a problem saying a new one must be requested."""
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            server, http, authority, smtp):
        notice = event_of("billing.invoice.recorded.v1", company_id=COMPANY_A,
                          invoice_email="ap@a.example", language="de")
        link = event_of("identity.password_reset.requested.v1", company_id=COMPANY_A)
        await publish(amqp_url, bus_prefix, notice, link)
        await all_consumed(server.app, [notice, link])
        deliveries = server.app[DB]["deliveries"]
        notice_id = (await deliveries.find_one({"event_id": notice["id"]}))["_id"]
        link_id = (await deliveries.find_one({"event_id": link["id"]}))["_id"]

        reader = bearer(authority.client_token("notifications:read"))
        async with http.post(f"/v1/deliveries/{notice_id}/resend", headers=reader) as r:
            assert r.status == 403
        support = bearer(authority.client_token("notifications:read notifications:resend"))
        async with http.post(f"/v1/deliveries/{notice_id}/resend", headers=support) as r:
            assert r.status == 202, await r.text()
            resend = await r.json()
        await eventually(lambda: len(smtp.mailbox.to("ap@a.example")) == 2)
        first, again = smtp.mailbox.to("ap@a.example")
        assert again["Subject"] == first["Subject"]
        assert again.get_body(("plain",)).get_content() == first.get_body(
            ("plain",)).get_content()
        async with http.get(f"/v1/deliveries/{resend['id']}", headers=support) as r:
            resent = await r.json()
        assert resent["resend_of"] == notice_id
        assert await eventually(lambda: _status(deliveries, resend["id"], "sent"))
        # the resend request delivered twice more (redelivery) sends nothing more
        again_event = envelope("notifications.resend.requested.v1", {
            "delivery_id": notice_id, "resend_id": resend["id"], "requested_by": "support"},
            source="/services/notifications")
        await publish(amqp_url, bus_prefix, again_event, again_event)
        await eventually(lambda: consumed(server.app, "notifications.resend.requested.v1") >= 3)
        assert len(smtp.mailbox.to("ap@a.example")) == 2

        async with http.post(f"/v1/deliveries/{link_id}/resend",
                             headers=admin_of(authority, COMPANY_A)) as r:
            assert r.status == 409
            problem = await r.json()
        assert problem["type"] == "/problems/message-carried-a-secret"
        assert "new" in problem["detail"] and "request" in problem["detail"]
        assert len(smtp.mailbox.to("anna@example.com")) == 1


async def _status(deliveries, delivery_id: str, status: str) -> bool:
    doc = await deliveries.find_one({"_id": delivery_id})
    return doc is not None and doc["status"] == status


async def test_user_who_opted_out_of_email_still_gets_security_messages(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """NOT-3 preferences: a non-essential notice is suppressed (and logged so), a password
    change notice still goes out."""
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            server, http, authority, smtp):
        activated = event_of("identity.user.activated.v1", user_id="u-7", company_id=COMPANY_A,
                             email="pia@a.example", language="en")
        await publish(amqp_url, bus_prefix, activated)
        await all_consumed(server.app, [activated])
        me = bearer(authority.token(sub="u-7", cid=COMPANY_A, roles=["user"]))
        async with http.get("/v1/me/notification-preferences", headers=me) as r:
            assert await r.json() == {"email": True, "sms": True}
        async with http.put("/v1/me/notification-preferences", headers=me,
                            json={"email": False, "sms": True}) as r:
            assert r.status == 200, await r.text()
        async with http.put("/v1/me/notification-preferences", headers=me,
                            json={"email": "nope"}) as r:
            assert r.status == 422

        invoice = event_of("billing.invoice.recorded.v1", company_id=COMPANY_A,
                           invoice_email="Pia@a.example", language=None)
        changed = event_of("identity.password.changed.v1", company_id=COMPANY_A,
                           user_id="u-7", email="pia@a.example", language="en")
        await publish(amqp_url, bus_prefix, invoice, changed)
        await all_consumed(server.app, [invoice, changed])
        await eventually(lambda: smtp.mailbox.to("pia@a.example"))
        [mail] = smtp.mailbox.to("pia@a.example")
        assert mail["Subject"] == "Your password was changed"
        suppressed = await server.app[DB]["deliveries"].find_one({"event_id": invoice["id"]})
        assert suppressed["status"] == "suppressed" and suppressed["attempts"] == []


async def test_codes_and_links_never_reach_the_logs(mongo_url, amqp_url, bus_prefix, unique,
                                                    tmp_path):
    """NOT-4, PLT-6: sending, retrying and failing over log no code, token or password."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("notifications", "DEBUG", "json", stream=stream)
    gateway = await SmsGateway(fail_first=1).start()
    code, token, password = "846213", "LinkTok-Qw8e7r6t5y", "Tmp!Pw-93kd"
    try:
        async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                           sms_gateway_url=gateway.url) as (server, _http, _auth, _smtp):
            events = [event_of("identity.login_code.requested.v1", code=code),
                      event_of("identity.registration.started.v1", token=token),
                      event_of("identity.temporary_password.issued.v1",
                               temporary_password=password),
                      event_of("identity.invitation.sent.v1", email="bounce@x.example",
                               token=token)]
            await publish(amqp_url, bus_prefix, *events)
            await all_consumed(server.app, events)
            await gateway.wait_for(1)
    finally:
        await gateway.close()
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = handlers
        root.setLevel(level)
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line.get("event") == "message sent" for line in lines)
    assert any(line.get("event") == "delivery attempt failed" for line in lines)
    for secret in (code, token, password):
        assert secret not in text
