"""billing's HTTP API, one module per area (billing details, payment methods,
subscriptions, invoices); all routes go into one table. Each route parses its request (the
bodies: ``http.models``) into a command (``domain.commands``), calls a use case
(``handlers``) or a read (``views``) with the ``Billing`` unit, and maps the answer to its
response model."""

from __future__ import annotations

from aiohttp import web

from services.billing.handlers import Billing
from shared.app_keys import unit
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Access
from shared.http import Routes

routes = Routes()
# BIL-4: billing data is for company and billing administrators only.
BILLING_ADMINS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN), scopes=("billing:read",))
BILLING_WRITERS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN))
# Online invoices (BIL-7): any user of the company reaches the handler, which admits
# administrators and the users granted online invoices.
COMPANY_USERS = Access()


def billing(request: web.Request) -> Billing:
    return unit(request.app, Billing)


from services.billing.http import (  # noqa: E402,F401  (each module adds its routes)
    details,
    invoices,
    payment_methods,
    subscriptions,
)
