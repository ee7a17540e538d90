"""Wiring of billing: stores, the card payment provider, routes, consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.billing import consumers
from services.billing.http import CARD_PROVIDER, STORE, routes
from services.billing.payment_provider import HttpCardProvider, SandboxCardProvider
from services.billing.settings import BillingSettings
from services.billing.store import BillingStore
from shared.app_keys import DB, RELAY, SERVICE_SETTINGS
from shared.logging import get_logger
from shared.service import ServiceDefinition, create_app

log = get_logger("billing")


async def setup(app: web.Application) -> None:
    store = BillingStore.on(app[DB], on_events=app[RELAY].wake)
    for aggregates in store.aggregates:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    app[STORE] = store


async def card_provider(app: web.Application) -> AsyncIterator[None]:
    settings = app[SERVICE_SETTINGS]
    assert isinstance(settings, BillingSettings)
    if settings.payment_provider_url:
        provider = HttpCardProvider(settings.payment_provider_url,
                                    settings.payment_provider_timeout_seconds)
    else:
        log.warning("no BILLING_PAYMENT_PROVIDER_URL: card tokens go to the local sandbox, "
                    "which confirms any tok_sandbox_ token (never use this in production)")
        provider = SandboxCardProvider()
    app[CARD_PROVIDER] = provider
    yield
    await provider.close()


definition = ServiceDefinition(
    title="billing",
    description="Billing details, payment methods, subscriptions and invoices.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(app[STORE]),
    extra_contexts=[card_provider],
)


def build(settings: BillingSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or BillingSettings(), role)
