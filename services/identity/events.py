"""Events identity publishes. Codes and links travel only inside ``data``."""

from datetime import datetime

from pydantic import EmailStr

from shared.events import EventData, EventSpec

SOURCE = "/services/identity"


class RegistrationStarted(EventData):
    registration_id: str
    email: EmailStr
    language: str
    # The secret of the verification link; notifications builds the link from it.
    token: str
    expires_at: datetime


class CompanyRegistered(EventData):
    company_id: str
    company_name: str
    admin_user_id: str
    admin_email: EmailStr
    admin_first_name: str
    admin_surname: str
    admin_phone: str
    language: str


REGISTRATION_STARTED = EventSpec(
    "identity.registration.started.v1", RegistrationStarted, "identity",
    "Someone asked to register with an email address: send the verification link (ID-1).",
    example={"registration_id": "3f0c9a1e-2b7d-4c55-9f1a-0d6e8b7c1a22",
             "email": "anna@example.com", "language": "de", "token": "Yx3…k9",
             "expires_at": "2026-11-24T10:00:00Z"},
)
COMPANY_REGISTERED = EventSpec(
    "identity.company.registered.v1", CompanyRegistered, "identity",
    "A registration was completed: the company exists and its first user is its company "
    "administrator (ID-1). Billing opens the billing account, contracts the contract space.",
    example={"company_id": "c-1", "company_name": "Muster GmbH", "admin_user_id": "u-1",
             "admin_email": "anna@example.com", "admin_first_name": "Anna",
             "admin_surname": "Muster", "admin_phone": "+36301234567", "language": "de"},
)

PUBLISHED = [REGISTRATION_STARTED, COMPANY_REGISTERED]
