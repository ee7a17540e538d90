"""Wiring of identity: stores, signing keys (reloaded so every replica sees a rotation),
routes, consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from services.identity import consumers
from services.identity.handlers import Identity
from services.identity.http import routes
from services.identity.import_runner import run_invitation_jobs
from services.identity.settings import IdentitySettings
from services.identity.store import IdentityStore
from services.identity.tokens import KeyEncryption, SigningKeys
from shared.app_keys import DB, METRICS, RELAY, SERVICE_SETTINGS, UNIT, unit
from shared.logging import get_logger
from shared.ratelimit import RateLimiter
from shared.service import ServiceDefinition, create_app

log = get_logger("identity")


async def setup(app: web.Application) -> None:
    relay = app[RELAY]
    store = IdentityStore.on(app[DB], on_events=relay.wake)
    for aggregates in store.aggregates:
        relay.watch(aggregates)
    await store.apply_indexes()
    settings = app[SERVICE_SETTINGS]
    if not isinstance(settings, IdentitySettings):
        raise TypeError("identity runs with IdentitySettings")
    keys = SigningKeys(store.signing_keys, key_encryption(settings))
    await keys.load()
    limits = RateLimiter(store.counters, app[METRICS])
    await limits.apply_indexes()
    login_failures = app[METRICS].counter(
        "login_failures_total", "Failed logins by method (password, sms-code) and reason "
        "(unknown-login, wrong-password, locked, inactive, wrong-code, too-many-tries, "
        "expired)", ["method", "reason"])
    app[UNIT] = Identity(store=store, keys=keys, settings=settings, limits=limits,
                         login_failures=login_failures)


def key_encryption(settings: IdentitySettings) -> KeyEncryption:
    return KeyEncryption.from_text(settings.key_encryption_key.get_secret_value(),
                                   settings.key_encryption_keys_old.get_secret_value())


async def reload_signing_keys(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(unit(app, Identity).settings.signing_key_reload_seconds)
            try:
                await unit(app, Identity).keys.load()
            except Exception as e:  # the database is away: keep the keys we have
                log.warning("signing keys not reloaded", error=str(e)[:200])

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


definition = ServiceDefinition(
    title="identity",
    description="Registration, login, tokens and users of customer companies.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(unit(app, Identity)),
    extra_contexts=[reload_signing_keys, run_invitation_jobs],
)


def build(settings: IdentitySettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or IdentitySettings(), role)
