"""notifications' HTTP API (the delivery log comes with the notifications issue)."""

from __future__ import annotations

from aiohttp import web

from services.notifications.handlers import Notifications
from shared.http import Routes

routes = Routes()
NOTIFICATIONS = web.AppKey("notifications", Notifications)
