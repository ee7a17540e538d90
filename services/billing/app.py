"""Wiring of billing: the store, the card payment provider and the settings in one ``Billing``
unit (``shared.app_keys.UNIT``), the routes, the consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.billing import consumers
from services.billing.handlers import Billing
from services.billing.http import routes
from services.billing.payment_provider import CardProvider, HttpCardProvider, SandboxCardProvider
from services.billing.settings import BillingSettings
from services.billing.store import BillingStore
from shared.app_keys import DB, RELAY, SERVICE_SETTINGS, UNIT, unit
from shared.logging import get_logger
from shared.service import ServiceDefinition, create_app

log = get_logger("billing")


def card_provider(settings: BillingSettings) -> CardProvider:
    if settings.payment_provider_url:
        return HttpCardProvider(settings.payment_provider_url,
                                settings.payment_provider_timeout_seconds)
    log.warning("no BILLING_PAYMENT_PROVIDER_URL: card tokens go to the local sandbox, "
                "which confirms any tok_sandbox_ token (never use this in production)")
    return SandboxCardProvider()


async def setup(app: web.Application) -> None:
    settings = app[SERVICE_SETTINGS]
    if not isinstance(settings, BillingSettings):
        raise TypeError(f"billing runs with BillingSettings, not {type(settings).__name__}")
    store = BillingStore.on(app[DB], on_events=app[RELAY].wake)
    store.published_by(app[RELAY])
    await store.apply_indexes()
    app[UNIT] = Billing(store=store, card_provider=card_provider(settings), settings=settings)


async def close_card_provider(app: web.Application) -> AsyncIterator[None]:
    yield
    await unit(app, Billing).card_provider.close()


definition = ServiceDefinition(
    title="billing",
    description="Billing details, payment methods, subscriptions and invoices.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(unit(app, Billing)),
    extra_contexts=[close_card_provider],
)


def build(settings: BillingSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or BillingSettings(), role)
