"""Every event type a service consumes, delivered twice, has one effect (PLT-2)."""

from __future__ import annotations

import asyncio

import pytest

from services.billing.app import build as build_billing
from services.billing.settings import BillingSettings
from services.contracts.app import build as build_contracts
from services.contracts.settings import ContractsSettings
from services.notifications.app import build as build_notifications
from services.notifications.settings import NotificationsSettings
from shared.app_keys import DB
from tests.support.gateways import Mailbox
from tests.support.polling import eventually
from tests.support.processes import free_port
from tests.support.services import consumed, envelope, publish, running, settings_for

pytestmark = pytest.mark.integration

COMPANY_REGISTERED = "identity.company.registered.v1"


def company_registered(company_id: str) -> dict:
    return envelope(COMPANY_REGISTERED, {
        "company_id": company_id, "company_name": "Muster GmbH", "admin_user_id": "u-1",
        "admin_email": "anna@example.com", "admin_first_name": "Anna",
        "admin_surname": "Muster", "admin_phone": "+36301234567", "language": "de",
    }, company_id=company_id, source="/services/identity")


@pytest.mark.parametrize("build,settings_type,collection", [
    (build_billing, BillingSettings, "accounts"),
    (build_contracts, ContractsSettings, "contract_spaces"),
])
async def test_company_registered_twice_opens_one_account(
        build, settings_type, collection, mongo_url, amqp_url, bus_prefix, unique):
    settings = settings_for(settings_type, mongo_url=mongo_url, amqp_url=amqp_url,
                            bus_prefix=bus_prefix, unique=unique)
    async with running(build, settings) as server:
        app = server.app
        event = company_registered(f"c-{unique}")
        await publish(amqp_url, bus_prefix, event, event)
        await eventually(lambda: consumed(app, COMPANY_REGISTERED) >= 2)
        docs = await app[DB][collection].find({}).to_list()
        assert [d["_id"] for d in docs] == [f"c-{unique}"]
        assert docs[0]["company_name"] == "Muster GmbH"


async def test_registration_started_twice_sends_one_email(mongo_url, amqp_url, bus_prefix,
                                                          unique):
    from aiosmtpd.controller import Controller
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                                bus_prefix=bus_prefix, unique=unique,
                                smtp_host="127.0.0.1", smtp_port=controller.port)
        async with running(build_notifications, settings) as server:
            event = envelope("identity.registration.started.v1", {
                "registration_id": "r-1", "email": "anna@example.com", "language": "de",
                "token": "t" * 43, "expires_at": "2026-11-24T10:00:00+00:00"})
            await publish(amqp_url, bus_prefix, event, event)
            await eventually(
                lambda: consumed(server.app, "identity.registration.started.v1") >= 2)
            await asyncio.sleep(0.3)
            assert len(inbox.messages) == 1
            assert inbox.messages[0]["Subject"].startswith("Bitte bestätigen")
    finally:
        controller.stop()
