"""billing details (BIL-1) and the billing account."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from services.billing import handlers, views
from services.billing.domain import details as domain
from services.billing.domain.commands import SetBillingDetails
from services.billing.http import BILLING_ADMINS, BILLING_WRITERS, billing, routes
from services.billing.http.models import Address, BillingDetailsIn, details_of
from services.billing.views import BillingAccount
from shared.auth import Principal
from shared.http import company_of


class BillingDetails(BaseModel):
    """The company's billing details as stored."""

    recipient: str = Field(description="Invoice recipient", examples=["Muster GmbH"])
    address: Address = Field(description="The recipient's postal address")
    invoice_email: str = Field(description="Where invoices and billing notices are sent",
                               examples=["invoices@muster.example"])
    vat_id: str | None = Field(None, description="EU VAT id with its country prefix; null: "
                                                 "none given", examples=["DE136695976"])
    updated_at: datetime | None = Field(None, description="When the details were last set",
                                        examples=["2026-03-02T09:15:00Z"])


def details_out(details: domain.BillingDetails) -> BillingDetails:
    return BillingDetails.model_validate(details.model_dump())


@routes.get("/v1/billing-account", response=BillingAccount, access=BILLING_ADMINS,
            tags=("billing account",), problems=(404,))
async def get_billing_account(request: web.Request, principal: Principal) -> BillingAccount:
    """Read the company's billing account

    The company's billing account with its status and the id of the active payment method.
    Company administrators and billing administrators (or a client with `billing:read`). The
    account is opened a moment after the registration: until then 404
    `billing-account-not-found`."""
    return await views.billing_account_summary(billing(request), company_of(principal))


@routes.get("/v1/billing-details", response=BillingDetails, access=BILLING_ADMINS,
            tags=("billing details",), problems=(404,))
async def get_billing_details(request: web.Request, principal: Principal) -> BillingDetails:
    """Read the billing details

    The invoice recipient, postal address, invoice email address and VAT id. Company
    administrators and billing administrators (or a client with `billing:read`). 404
    `billing-details-not-found` until they are set with `PUT /v1/billing-details` (or with
    the first booking)."""
    return details_out(await views.billing_details(billing(request), company_of(principal)))


@routes.put("/v1/billing-details", body=BillingDetailsIn, response=BillingDetails,
            access=BILLING_WRITERS, tags=("billing details",), problems=(404, 409, 422))
async def put_billing_details(request: web.Request, body: BillingDetailsIn,
                              principal: Principal) -> BillingDetails:
    """Set the billing details

    Replaces the invoice recipient, address, invoice email address and VAT id as a whole;
    later invoices use them. Company administrators and billing administrators. The country is
    an ISO 3166-1 alpha-2 code; the VAT id must carry its country prefix and is checked by
    that country's rules (422 `invalid-vat-id`). The change is kept in the payment history.
    Nothing that looks like a card number may appear anywhere in the body (422
    `card-number-in-body`)."""
    return details_out(await handlers.set_billing_details(
        SetBillingDetails(company_of(principal), principal.subject, details_of(body)),
        billing(request)))

