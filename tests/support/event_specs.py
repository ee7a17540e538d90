"""Event types of three services, with data models nesting models, a recursive one and the
same class name twice over: what the unit tests of ``shared.events`` build envelopes and the
AsyncAPI catalogue from."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, EmailStr

from shared.events import EventData, EventSpec


class Address(BaseModel):
    city: str
    postcode: str


class UserInvited(EventData):
    user_id: str
    email: EmailStr
    invited_at: datetime
    address: Address | None = None


class CustomerNumberIssued(EventData):
    company_id: str
    customer_number: str


class Category(BaseModel):
    name: str
    children: list[Category] = []


class CatalogueChanged(EventData):
    root: Category


USER_INVITED = EventSpec("identity.user.invited.v1", UserInvited, "identity",
                         "A company administrator invited a user.",
                         example={"user_id": "u-1", "email": "anna@example.com",
                                  "invited_at": "2026-01-31T12:00:00Z"})
NUMBER_ISSUED = EventSpec("crm.customer_number.issued.v1", CustomerNumberIssued, "crm",
                          "The CRM issued a customer number for a company.")
CATALOGUE_CHANGED = EventSpec("shop.catalogue.changed.v2", CatalogueChanged, "shop",
                              "The product catalogue changed.")
