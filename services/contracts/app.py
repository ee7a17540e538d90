"""Wiring of contracts: stores, routes, consumers."""

from __future__ import annotations

from aiohttp import web

from services.contracts import consumers
from services.contracts.http import STORE, routes
from services.contracts.settings import ContractsSettings
from services.contracts.store import ContractsStore
from shared.service import DB, RELAY, ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    store = ContractsStore.on(app[DB], on_events=app[RELAY].wake)
    for aggregates in store.aggregates:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    app[STORE] = store


definition = ServiceDefinition(
    title="contracts",
    description="Customer numbers, contract links, permissions and authorised contacts.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(app[STORE]),
)


def build(settings: ContractsSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or ContractsSettings(), role)
