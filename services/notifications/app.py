"""Wiring of notifications: stores, channels (transports with failover), routes, consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.notifications import consumers
from services.notifications.handlers import Notifications
from services.notifications.http import routes
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import DeliveryMetrics, email_channel, sms_channel
from shared.app_keys import DB, METRICS, RELAY, SERVICE_SETTINGS, UNIT, unit
from shared.service import ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    settings = app[SERVICE_SETTINGS]
    if not isinstance(settings, NotificationsSettings):  # build() gives it: a wiring error
        raise TypeError("notifications runs with NotificationsSettings")
    store = NotificationsStore.on(app[DB], on_events=app[RELAY].wake,
                                  claim_seconds=settings.claim_seconds)
    for aggregates in store.aggregates:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    delivery = DeliveryMetrics(app[METRICS])
    app[UNIT] = Notifications(store=store, email=email_channel(settings, delivery),
                              sms=sms_channel(settings, delivery), settings=settings)


async def close_channels(app: web.Application) -> AsyncIterator[None]:
    yield
    if UNIT in app:
        await unit(app, Notifications).close()


definition = ServiceDefinition(
    title="notifications",
    description="Every email and SMS of the platform, in German, English and Hungarian; "
                "the delivery log and notification preferences.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(unit(app, Notifications)),
    extra_contexts=[close_channels],
)


def build(settings: NotificationsSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or NotificationsSettings(), role)
