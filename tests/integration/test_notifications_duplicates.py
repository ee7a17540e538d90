"""The duplicate window of notifications, made honest (issue 10, part 3).

A worker killed (kill -9) after the provider took a message but before it recorded the
outcome leaves the delivery claimed. After the claim lease the redelivered event sends again,
with the same Message-ID, and the delivery log shows both sends, so support sees what the
customer received. The file transports (local development) behave like a provider honouring
idempotency keys: a repeated send replaces the file.

The killed worker is the real subscription handler on a copy of the service's context whose
transport sends for real and then never returns (the process froze or died right after the
provider's answer). Real RabbitMQ, the MongoDB wire server, a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import aiohttp
import pytest

from scripts import catalogue
from services.notifications import consumers
from services.notifications.app import build
from services.notifications.domain.delivery import UNCONFIRMED, delivery_id_for
from services.notifications.domain.recipients import recipient_key
from services.notifications.handlers import Notifications
from services.notifications.settings import NotificationsSettings
from services.notifications.transports import Channel
from shared.app_keys import unit
from shared.events import CloudEvent
from tests.support.gateways import SmtpServer
from tests.support.polling import eventually
from tests.support.services import consumed, envelope, publish, running, settings_for
from tests.support.tokens import TokenAuthority

pytestmark = pytest.mark.integration

EXAMPLES = {s.type: s.example for s in catalogue.published()}
CLAIM_SECONDS = 1.5


def event_of(etype: str, **changes) -> dict:
    data = {**EXAMPLES[etype], **changes}
    return envelope(etype, data, company_id=data.get("company_id"), source="/tests")


class DiesAfterSending:
    """The provider takes the message; the worker never hears back (killed right then)."""

    def __init__(self, real) -> None:
        self.real, self.name = real, real.name
        self.sent = asyncio.Event()

    async def send(self, message) -> str:
        await self.real.send(message)
        self.sent.set()
        await asyncio.Event().wait()  # never returns: the process is gone
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def killed_mid_send(ctx: Notifications, event: dict, channel: str = "email"):
    """Run ``event``'s real handler as a worker that dies once its send on ``channel``
    reached the provider; yields when it has."""
    dying = DiesAfterSending(ctx.channel(channel).primary)
    dead = dataclasses.replace(ctx, **{channel: Channel(dying)})
    [sub] = [s for s in consumers.subscriptions(dead) if s.type == event["type"]]
    task = asyncio.create_task(sub.handler(CloudEvent.model_validate(event),
                                           sub.model.model_validate(event["data"])))
    try:
        await eventually(lambda: task.done() or dying.sent.is_set(), seconds=10)
        assert not task.done(), task.exception()
        yield
    finally:
        task.cancel()  # after the assertions: a dead process writes nothing more
        with contextlib.suppress(BaseException):
            await task


@contextlib.asynccontextmanager
async def notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path: Path, **extra):
    """The service (HTTP + worker) with a short claim lease, and a client signed in as the
    administrator of the example company."""
    async with TokenAuthority.serving() as authority:
        s = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                         bus_prefix=bus_prefix, unique=unique, mail_dir=str(tmp_path / "mail"),
                         sms_dir=str(tmp_path / "sms"), portal_base_url="https://portal.test",
                         claim_seconds=CLAIM_SECONDS, **{"jwks_url": authority.jwks_url, **extra})
        company = EXAMPLES["identity.password.changed.v1"]["company_id"]
        token = authority.token(sub="admin-1", cid=company, roles=["company_admin"])
        async with running(build, s) as server, aiohttp.ClientSession(
                base_url=str(server.make_url("/")),
                headers={"Authorization": f"Bearer {token}"}) as http:
            yield server, http


async def log_entry(http: aiohttp.ClientSession, delivery_id: str) -> dict:
    async with http.get(f"/v1/deliveries/{delivery_id}") as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_email_whose_worker_was_killed_mid_send_is_sent_again_and_logged_twice(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """kill -9 stays at-least-once: the send in flight is repeated once, after the claim
    lease, with the same Message-ID; the log shows the unconfirmed send and the second."""
    with SmtpServer() as smtp:
        async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path,
                                 smtp_host="127.0.0.1", smtp_port=smtp.port) as (server, http):
            event = event_of("identity.password.changed.v1", email="carl@example.com")
            delivery_id = delivery_id_for(event["id"], "email", recipient_key("carl@example.com"))
            async with killed_mid_send(unit(server.app, Notifications), event):
                # The broker hands the dead worker's event to the replica that lives on.
                await publish(amqp_url, bus_prefix, event)
                await eventually(lambda: consumed(server.app, event["type"]) >= 1,
                                 seconds=CLAIM_SECONDS + 15)
                copies = smtp.mailbox.to("carl@example.com")
                assert len(copies) == 2
                assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
                assert delivery_id in copies[0]["Message-ID"]

                entry = await log_entry(http, delivery_id)
                assert entry["status"] == "sent"
                assert [a["outcome"] for a in entry["attempts"]] == ["unconfirmed", "sent"]
                assert entry["attempts"][0]["error"] == UNCONFIRMED
                assert entry["attempts"][0]["at"] < entry["attempts"][1]["at"]


@pytest.mark.parametrize("channel", ["email", "sms"])
async def test_file_transports_keep_one_file_per_delivery_when_a_send_is_repeated(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path, channel):
    """Local development: a repeated send (the same delivery, after a killed worker) replaces
    the .eml or .json file instead of adding one, as an idempotent provider would."""
    async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            server, http):
        # One email (to dora) and one SMS (to the old phone); the worker dies on ``channel``.
        event = event_of("identity.phone.changed.v1", email="dora@example.com")
        ids = {"email": delivery_id_for(event["id"], "email",
                                        recipient_key("dora@example.com")),
               "sms": delivery_id_for(event["id"], "sms", recipient_key("+36301234567"))}
        async with killed_mid_send(unit(server.app, Notifications), event, channel):
            await publish(amqp_url, bus_prefix, event)
            await eventually(lambda: consumed(server.app, event["type"]) >= 1,
                             seconds=CLAIM_SECONDS + 15)

            assert [p.name for p in (tmp_path / "mail").glob("*.eml")] == [
                f"{ids['email']}.eml"]
            assert [p.name for p in (tmp_path / "sms").glob("*.json")] == [
                f"{ids['sms']}.json"]
            assert list(tmp_path.glob("*/*.part")) == []
            entry = await log_entry(http, ids[channel])
            assert [a["outcome"] for a in entry["attempts"]] == ["unconfirmed", "sent"]
