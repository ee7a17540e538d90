"""contracts' support routes of customer numbers (CON-1): a new one-time password. Support's
questions about authorised contacts are in contacts.py."""

from __future__ import annotations

from aiohttp import web

from services.contracts import views
from services.contracts.domain.commands import ReissuePassword
from services.contracts.handlers import customer_numbers
from services.contracts.http.access import SUPPORT, contracts, customer_number
from services.contracts.http.models import CustomerNumberPath, PasswordIssued
from shared.auth import Principal
from shared.http import Routes

routes = Routes()


@routes.post("/v1/support/customer-numbers/{customer_number}/one-time-password",
             path_params=CustomerNumberPath, response=PasswordIssued, status=201,
             access=SUPPORT, tags=("support",), problems=(404, 409))
async def reissue_password(request: web.Request, principal: Principal) -> PasswordIssued:
    """Issue a new one-time password (support)

    Issues a new one-time password for a customer number whose password expired, was used
    or is locked for a company; the customer gets it by email at the address on file and
    the old one stops working. Support clients (`contracts:support`) only. 404
    `unknown-customer-number`; 409 `one-time-password-still-valid` while the current one can
    still be used."""
    saved = await customer_numbers.reissue_password(
        ReissuePassword(customer_number(request)), contracts(request))
    return views.password_issued(saved)
