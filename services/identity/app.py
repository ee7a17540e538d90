"""Wiring of identity: stores, signing keys, routes, consumers."""

from __future__ import annotations

from aiohttp import web

from services.identity import consumers
from services.identity.handlers import Identity
from services.identity.http import IDENTITY, routes
from services.identity.settings import IdentitySettings
from services.identity.store import IdentityStore
from services.identity.tokens import SigningKeys
from shared.service import DB, RELAY, SERVICE_SETTINGS, ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    relay = app[RELAY]
    store = IdentityStore.on(app[DB], on_events=relay.wake)
    for aggregates in store.aggregates:
        relay.watch(aggregates)
    await store.apply_indexes()
    keys = SigningKeys(store.signing_keys)
    await keys.load()
    settings = app[SERVICE_SETTINGS]
    assert isinstance(settings, IdentitySettings)
    app[IDENTITY] = Identity(store=store, keys=keys, settings=settings)


definition = ServiceDefinition(
    title="identity",
    description="Registration, login, tokens and users of customer companies.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(app[IDENTITY]),
)


def build(settings: IdentitySettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or IdentitySettings(), role)
