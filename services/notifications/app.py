"""Wiring of notifications: stores, channels (transports with failover), routes, consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.notifications import consumers
from services.notifications.handlers import Notifications
from services.notifications.http import NOTIFICATIONS, routes
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import DeliveryMetrics, email_channel, sms_channel
from shared.app_keys import DB, METRICS, RELAY, SERVICE_SETTINGS
from shared.service import ServiceDefinition, create_app


async def setup(app: web.Application) -> None:
    store = NotificationsStore.on(app[DB], on_events=app[RELAY].wake)
    for aggregates in store.aggregates:
        app[RELAY].watch(aggregates)
    await store.apply_indexes()
    settings = app[SERVICE_SETTINGS]
    if not isinstance(settings, NotificationsSettings):  # build() gives it: a wiring error
        raise TypeError("notifications runs with NotificationsSettings")
    delivery = DeliveryMetrics(app[METRICS])
    app[NOTIFICATIONS] = Notifications(store=store, email=email_channel(settings, delivery),
                                       sms=sms_channel(settings, delivery), settings=settings)


async def close_channels(app: web.Application) -> AsyncIterator[None]:
    yield
    if NOTIFICATIONS in app:
        await app[NOTIFICATIONS].close()


definition = ServiceDefinition(
    title="notifications",
    description="Every email and SMS of the platform, in German, English and Hungarian; "
                "the delivery log and notification preferences.",
    routes=routes,
    setup=setup,
    subscriptions=lambda app: consumers.subscriptions(app[NOTIFICATIONS]),
    extra_contexts=[close_channels],
)


def build(settings: NotificationsSettings | None = None, role: str = "all") -> web.Application:
    return create_app(definition, settings or NotificationsSettings(), role)
