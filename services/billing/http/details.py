"""billing details (BIL-1) and the billing account."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from aiohttp import web
from pydantic import BaseModel, EmailStr, Field, field_validator

from services.billing import handlers
from services.billing.http import BILLING_ADMINS, BILLING_WRITERS, STORE, Body, routes
from shared.auth import Principal


class Address(Body):
    """A postal address for invoices."""

    street: str = Field(min_length=1, max_length=200, description="Street and house number",
                        examples=["Friedrichstraße 123"])
    additional: str | None = Field(None, max_length=200,
                                   description="Address addition: building, floor, c/o",
                                   examples=["3rd floor"])
    postal_code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
                             description="Postal code as written in the country",
                             examples=["10117"])
    city: str = Field(min_length=1, max_length=100, description="City", examples=["Berlin"])
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code",
                         examples=["DE"])

    @field_validator("country")
    @classmethod
    def known_country(cls, v: str) -> str:
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return v


class BillingDetailsIn(Body):
    """Who invoices are addressed to and where they are sent."""

    recipient: str = Field(min_length=1, max_length=200,
                           description="Invoice recipient, usually the company's legal name",
                           examples=["Muster GmbH"])
    address: Address = Field(description="The recipient's postal address")
    invoice_email: EmailStr = Field(description="Where invoices and billing notices are sent",
                                    examples=["invoices@muster.example"])
    vat_id: str | None = Field(None, min_length=4, max_length=20,
                               description="EU VAT id with its country prefix, checked per "
                                           "country (checksum where the country has one)",
                               examples=["DE136695976"])


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


class BillingAccount(BaseModel):
    """The company's billing account, opened automatically when the company registers."""

    company_id: str = Field(description="The company the account belongs to",
                            examples=["0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"])
    company_name: str = Field(description="The company's name at registration",
                              examples=["Muster GmbH"])
    status: str = Field(description="`open` while the company is a customer", examples=["open"])
    opened_at: datetime = Field(description="When the account was opened",
                                examples=["2026-03-01T10:00:00Z"])
    active_payment_method_id: str | None = Field(
        None, description="The one payment method that bills everything; null until the "
                          "company has one", examples=["pm_3f9a1c2b7d4e5f60"])


@routes.get("/v1/billing-account", response=BillingAccount, access=BILLING_ADMINS,
            tags=("billing account",), problems=(404,))
async def get_billing_account(request: web.Request, principal: Principal) -> BillingAccount:
    """Read the company's billing account

    The company's billing account with its status and the id of the active payment method.
    Company administrators and billing administrators (or a client with `billing:read`). The
    account is opened a moment after the registration: until then 404
    `billing-account-not-found`."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return BillingAccount(**account, active_payment_method_id=account.get("active_method_id"))


@routes.get("/v1/billing-details", response=BillingDetails, access=BILLING_ADMINS,
            tags=("billing details",), problems=(404,))
async def get_billing_details(request: web.Request, principal: Principal) -> dict:
    """Read the billing details

    The invoice recipient, postal address, invoice email address and VAT id. Company
    administrators and billing administrators (or a client with `billing:read`). 404
    `billing-details-not-found` until they are set with `PUT /v1/billing-details` (or with
    the first booking)."""
    return await handlers.billing_details(request.app[STORE], principal.company_id)


@routes.put("/v1/billing-details", body=BillingDetailsIn, response=BillingDetails,
            access=BILLING_WRITERS, tags=("billing details",), problems=(404, 409, 422))
async def put_billing_details(request: web.Request, body: BillingDetailsIn,
                              principal: Principal) -> dict:
    """Set the billing details

    Replaces the invoice recipient, address, invoice email address and VAT id as a whole;
    later invoices use them. Company administrators and billing administrators. The country is
    an ISO 3166-1 alpha-2 code; the VAT id must carry its country prefix and is checked by
    that country's rules (422 `invalid-vat-id`). The change is kept in the payment history.
    Nothing that looks like a card number may appear anywhere in the body (422
    `card-number-in-body`)."""
    return await handlers.set_billing_details(request.app[STORE], principal,
                                              body.model_dump(mode="json"))

