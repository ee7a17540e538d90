"""identity's HTTP API, one module per area; all routes go into one table."""

from aiohttp import web

from services.identity.handlers import Identity
from shared.app_keys import unit
from shared.auth import Principal
from shared.errors import Forbidden
from shared.http import Routes

routes = Routes()


def identity(request: web.Request) -> Identity:
    """The unit of identity's use cases, for a route handler."""
    return unit(request.app, Identity)


def company_of(principal: Principal) -> str:
    """The caller's company (a user route's ``Access`` admits only a company's users)."""
    if not principal.company_id:
        raise Forbidden("The token belongs to no company.")
    return principal.company_id

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
