"""Wiring of billing: stores, routes, consumers."""

from __future__ import annotations

from aiohttp import web

from services.billing import consumers
from services.billing.http import STORE, routes
from services.billing.settings import BillingSettings
from services.billing.store import BillingStore
from shared.service import DB, RELAY, ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    store = BillingStore.on(app[DB], on_events=app[RELAY].wake)
    for aggregates in store.aggregates:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    app[STORE] = store


definition = ServiceDefinition(
    title="billing",
    description="Billing details, payment methods, subscriptions and invoices.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(app[STORE]),
)


def build(settings: BillingSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or BillingSettings(), role)
