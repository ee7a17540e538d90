"""Wiring of contracts: the store, the unit of dependencies, routes, consumers."""

from __future__ import annotations

from aiohttp import web

from services.contracts import consumers
from services.contracts.handlers import Contracts, LinkAttempts, PasswordPolicy
from services.contracts.http.routes import routes
from services.contracts.settings import ContractsSettings
from services.contracts.store import ContractsStore
from shared.app_keys import DB, METRICS, RELAY, SERVICE_SETTINGS, UNIT, unit
from shared.service import ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    settings = app[SERVICE_SETTINGS]
    if not isinstance(settings, ContractsSettings):
        raise TypeError("contracts runs with ContractsSettings")
    policy = PasswordPolicy(pepper=settings.otp_pepper.get_secret_value().encode(),
                            valid_days=settings.otp_valid_days,
                            max_attempts=settings.otp_max_attempts)
    store = ContractsStore.on(app[DB], on_events=app[RELAY].wake)
    for aggregates in store.publishing:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    attempts = LinkAttempts.wired(
        store, app[METRICS], per_company_per_hour=settings.link_attempts_per_company_per_hour,
        alert_after=settings.otp_alert_after_attempts)
    await attempts.limits.apply_indexes()
    app[UNIT] = Contracts(store=store, policy=policy, attempts=attempts)


definition = ServiceDefinition(
    title="contracts",
    description="Customer numbers, contract links, permissions and authorised contacts.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(unit(app, Contracts)),
)


def build(settings: ContractsSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or ContractsSettings(), role)
