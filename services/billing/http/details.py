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
    street: str = Field(min_length=1, max_length=200)
    additional: str | None = Field(None, max_length=200)
    postal_code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def known_country(cls, v: str) -> str:
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return v


class BillingDetailsIn(Body):
    recipient: str = Field(min_length=1, max_length=200, description="Invoice recipient")
    address: Address
    invoice_email: EmailStr
    vat_id: str | None = Field(None, min_length=4, max_length=20,
                               description="EU VAT id with country prefix, checked per country")


class BillingDetails(BaseModel):
    recipient: str
    address: Address
    invoice_email: str
    vat_id: str | None = None
    updated_at: datetime | None = None


class BillingAccount(BaseModel):
    company_id: str
    company_name: str
    status: str
    opened_at: datetime
    active_payment_method_id: str | None = None


@routes.get("/v1/billing-account", response=BillingAccount, access=BILLING_ADMINS,
            tags=("billing account",), problems=(404,))
async def get_billing_account(request: web.Request, principal: Principal) -> BillingAccount:
    """The calling company's billing account."""
    account = await handlers.billing_account(request.app[STORE], principal.company_id)
    return BillingAccount(**account, active_payment_method_id=account.get("active_method_id"))


@routes.get("/v1/billing-details", response=BillingDetails, access=BILLING_ADMINS,
            tags=("billing details",), problems=(404,))
async def get_billing_details(request: web.Request, principal: Principal) -> dict:
    """BIL-1: invoice recipient, address, invoice email and VAT id."""
    return await handlers.billing_details(request.app[STORE], principal.company_id)


@routes.put("/v1/billing-details", body=BillingDetailsIn, response=BillingDetails,
            access=BILLING_WRITERS, tags=("billing details",), problems=(404,))
async def put_billing_details(request: web.Request, body: BillingDetailsIn,
                              principal: Principal) -> dict:
    """BIL-1: set the billing details (VAT id checked per country)."""
    return await handlers.set_billing_details(request.app[STORE], principal,
                                              body.model_dump(mode="json"))

