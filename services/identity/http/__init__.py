"""identity's HTTP API, one module per area; all routes go into one table."""

from aiohttp import web

from services.identity.handlers import Identity
from shared.app_keys import unit
from shared.http import Routes

routes = Routes()


def identity(request: web.Request) -> Identity:
    """The unit of identity's use cases, for a route handler."""
    return unit(request.app, Identity)

from services.identity.http import (  # noqa: E402,F401  (each module adds its routes)
    account,
    activation,
    company,
    customer_numbers,
    invitations,
    password_resets,
    registration,
    sessions,
    users,
)
