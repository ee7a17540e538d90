"""Every ``web.AppKey`` of the platform, in one module.

The kit's own resources (metrics, token verifier, database, bus, relay, settings, the route
table and readiness checks) each have a key here; a service keeps its dependencies in one
object, its *unit* (identity's ``Identity``, notifications' ``Notifications``, …), stored
under ``UNIT`` and read back typed with ``unit``::

    app[UNIT] = Identity(store=..., settings=...)          # in the service's setup
    identity = unit(request.app, Identity)                 # in a route handler
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from shared.auth import TokenVerifier
from shared.bus.protocol import EventBus
from shared.config import ServiceSettings
from shared.metrics import Metrics
from shared.relay import Relay

if TYPE_CHECKING:  # the route table's entries; shared.http imports this module
    from shared.http.health import ReadinessCheck
    from shared.http.routes import Route

__all__ = [
    "BUS",
    "DB",
    "METRICS",
    "OPENAPI_INFO",
    "READINESS",
    "RELAY",
    "ROUTES",
    "SERVICE_SETTINGS",
    "UNIT",
    "VERIFIER",
    "unit",
]

T = TypeVar("T")

# -- the HTTP side (shared.http) -------------------------------------------------------------
METRICS = web.AppKey("metrics", Metrics)
VERIFIER = web.AppKey("verifier", TokenVerifier)
# The routes served, as declared (the OpenAPI document describes them).
ROUTES: web.AppKey[list[Route]] = web.AppKey("routes")
# ``/health/ready``'s checks by name.
READINESS: web.AppKey[dict[str, ReadinessCheck]] = web.AppKey("readiness")
# The OpenAPI document's ``info``: title, version, description.
OPENAPI_INFO: web.AppKey[dict[str, str]] = web.AppKey("openapi_info")

# -- the process (shared.service) ------------------------------------------------------------
DB: web.AppKey[AsyncDatabase[dict[str, Any]]] = web.AppKey("db")
BUS: web.AppKey[EventBus] = web.AppKey("bus")
RELAY = web.AppKey("relay", Relay)
SERVICE_SETTINGS = web.AppKey("service_settings", ServiceSettings)

# -- the service's own dependencies ----------------------------------------------------------
# One object per service holding its stores, settings and clients; read it with ``unit``.
UNIT = web.AppKey("unit", object)


def unit(app: web.Application, kind: type[T]) -> T:
    """The service's unit of dependencies stored under ``UNIT``, checked to be a ``kind``.

    Raises ``TypeError`` when the app holds something else (a wiring mistake, found at the
    first request rather than as an attribute error deep in a handler) and ``KeyError`` when
    the service stored none.
    """
    value = app[UNIT]
    if not isinstance(value, kind):
        raise TypeError(f"app[UNIT] is a {type(value).__name__}, not a {kind.__name__}")
    return value
