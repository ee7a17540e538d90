"""A customer company (ID-1, ID-13, ID-14): its name, language, login domain, profile and
settings. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.identity.domain.aggregate import Aggregate
from services.identity.events import (
    COMPANY_REGISTERED,
    CUSTOMER_NUMBER_CLAIMED,
    CompanyRegistered,
    CustomerNumberClaimed,
)


class CompanySettings(BaseModel):
    """What a company administrator decides (ID-13); a setting never stored has its
    default, and stays unstored until someone sets it."""

    model_config = ConfigDict(extra="allow")

    sms_login_step: bool = True
    sales_partner_access: bool = False
    password_policy: dict[str, Any] | None = None
    # The permissions a mobile-number login may have (ID-6); unset: the platform's default.
    phone_login_permissions: list[str] | None = None


class FormerLoginDomain(BaseModel):
    """A login domain the company gave up, still reserved for it until ``until`` (epoch s)."""

    login_domain: str
    until: float


class Company(Aggregate):
    """A customer company (stored in ``companies``)."""

    name: str
    admin_user_id: str | None = None
    login_domain: str | None = None
    former_login_domains: list[FormerLoginDomain] = Field(default_factory=list)
    language: str = "en"
    created_at: datetime | None = None
    profile: dict[str, Any] = Field(default_factory=dict)
    settings: CompanySettings = Field(default_factory=CompanySettings)
    customer_number: str | None = None

    @classmethod
    def register(cls, *, company_id: str, name: str, admin: RegisteringAdmin,
                 login_domain: str | None, language: str, now: datetime,
                 **extra: Any) -> Company:
        """A new company with its first (master) administrator, as registration and a
        contract holder's first login make it; records ``CompanyRegistered``. ``extra``:
        fields only some store (``customer_number``)."""
        company = cls.model_validate({
            "_id": company_id, "name": name, "admin_user_id": admin.user_id,
            "login_domain": login_domain, "language": language, "created_at": now,
            "profile": {}, **extra,
            "settings": {"sms_login_step": True, "sales_partner_access": False}})
        company.record(COMPANY_REGISTERED, CompanyRegistered(
            company_id=company_id, company_name=name, admin_user_id=admin.user_id,
            admin_email=admin.email, admin_first_name=admin.first_name,
            admin_surname=admin.surname, admin_phone=admin.phone, language=language))
        return company

    def claim_customer_number(self, number: str, user_id: str) -> None:
        """The company opened for a customer number's holder asks contracts to link the
        number to it as contract holder (seed 004); the event's subject is the number."""
        self.record(CUSTOMER_NUMBER_CLAIMED, CustomerNumberClaimed(
            company_id=self.id, user_id=user_id, customer_number=number), subject=number)


class RegisteringAdmin(BaseModel):
    """Who registers a company: its first administrator, as ``CompanyRegistered`` names
    them."""

    user_id: str
    email: str
    first_name: str
    surname: str
    phone: str
