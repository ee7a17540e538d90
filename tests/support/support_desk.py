"""The support client the schemathesis run calls as (client credentials from
``IDENTITY_INTERNAL_CLIENTS``), allowed every scope a route names."""

from __future__ import annotations

import importlib

from tests.support.processes import SERVICES

SUPPORT_CLIENT = "support-desk"
SUPPORT_SECRET = "schemathesis-support-desk-secret-0123456789"


def every_scope() -> list[str]:
    """The scopes any route of the four services names: the support client may use all."""
    scopes: set[str] = set()
    for name in SERVICES:
        for route in importlib.import_module(f"services.{name}.app").definition.routes.entries:
            if route.access is not None:
                scopes |= route.access.scopes
    return sorted(scopes)
