"""Company profile and settings (ID-13), the company's login domain (ID-14)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from services.identity.domain import commands
from services.identity.domain.companies import Company as CompanyAggregate
from services.identity.domain.handles import LoginDomain
from services.identity.domain.passwords import PasswordPolicy
from services.identity.domain.registration import EXAMPLE_PASSWORD, Language, Phone
from services.identity.handlers import company as handlers
from services.identity.handlers import login_domains
from services.identity.http import identity, routes
from services.identity.http.models import EXAMPLE_COMPANY_ID
from shared.auth import (
    COMPANY_ADMIN,
    DEFAULT_PHONE_LOGIN_PERMISSIONS,
    PHONE_LOGIN_PERMISSIONS,
    Access,
    Principal,
)
from shared.http import company_of
from shared.parsing import UniqueList

ADMINS = Access.of(roles=(COMPANY_ADMIN,))
READERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("company:read",))
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# pydantic's HttpUrl takes at most 2083 characters as typed, but normalises a bare host to
# end in "/": the stored and served value is checked again, after normalisation, so what is
# stored always passes the very rule it is served with.
WEBSITE_MAX_LENGTH = 2083


def _fits_once_normalised(url: HttpUrl) -> HttpUrl:
    if len(str(url)) > WEBSITE_MAX_LENGTH:
        raise PydanticCustomError(
            "too_long", "at most {max} characters (a trailing / is added to a bare host)",
            {"max": WEBSITE_MAX_LENGTH})
    return url


Website = Annotated[HttpUrl, AfterValidator(_fits_once_normalised)]
# What a mobile-number login may do, all within that number's own scope (ID-6; the list
# and what each reaches: shared.auth.PHONE_LOGIN_PERMISSIONS).
# The Literal is built from the kit's table, so a type checker sees a plain str.
if TYPE_CHECKING:
    PhoneLoginPermission = str
else:
    PhoneLoginPermission = Literal[tuple(PHONE_LOGIN_PERMISSIONS)]


class Address(BaseModel):
    """A postal address."""

    street: Text = Field(description="Street and house number", examples=["Hauptstraße 12"])
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                               max_length=10)] = Field(
        description="Postcode, 3–10 characters", examples=["10115"])
    city: Text = Field(description="City", examples=["Berlin"])
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2 country code", examples=["DE"])


class CompanyProfile(BaseModel):
    """The company's public profile; each field may be left out (it is then removed)."""

    model_config = ConfigDict(extra="forbid")
    description: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="What the company does, at most 2000 characters",
        examples=["Mechanical engineering for the food industry."])
    industry: Text | None = Field(None, description="The company's industry",
                                  examples=["Mechanical engineering"])
    contact_phone: Phone | None = Field(None, description="A contact number (E.164, or "
                                                          "national numbers read as "
                                                          "Hungarian)",
                                        examples=["+493012345678"])
    email: EmailStr | None = Field(None, description="A contact address",
                                   examples=["info@muster-gmbh.de"])
    website: Website | None = Field(None, description="The company's website (http or https, "
                                                      "at most 2083 characters)",
                                    examples=["https://www.muster-gmbh.de/"])
    address: Address | None = Field(None, description="The company's postal address")


class CompanySettingsChange(BaseModel):
    """The settings to change; the ones left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                                   max_length=200)] | None = Field(
        None, description="The company's name", examples=["Muster GmbH"])
    language: Language | None = Field(None, description="The company's language: the default "
                                                        "for new users and invitations",
                                      examples=["de"])
    password_policy: PasswordPolicy | None = Field(
        None, description="Stricter password requirements (never weaker than the "
                          "platform's); applies to passwords set from now on")
    sms_login_step: bool | None = Field(None, description="Whether a password login also "
                                                          "asks for an SMS code",
                                        examples=[True])
    sales_partner_access: bool | None = Field(None, description="Whether the company's sales "
                                                                "partner may see its data",
                                              examples=[False])
    phone_login_permissions: UniqueList[PhoneLoginPermission] | None = Field(
        None, max_length=10,
        description="What a login with a mobile number reaches, each only for that number: "
                    + "; ".join(f"`{k}`: {v}" for k, v in PHONE_LOGIN_PERMISSIONS.items())
                    + ". Default: all of them; `[]` leaves only the account page.",
        examples=[["own_number:read", "own_number:invoices"]])


class CompanySettings(BaseModel):
    """The company's settings."""

    company_id: str = Field(description="The company", examples=[EXAMPLE_COMPANY_ID])
    company_name: str = Field(description="The company's name", examples=["Muster GmbH"])
    language: str = Field(description="The company's language (de, en or hu)",
                          examples=["de"])
    password_policy: PasswordPolicy = Field(description="The password requirements in force")
    sms_login_step: bool = Field(description="Whether a password login also asks for an SMS "
                                             "code", examples=[True])
    sales_partner_access: bool = Field(description="Whether the company's sales partner may "
                                                   "see its data", examples=[False])
    phone_login_permissions: list[str] = Field(
        description="What a login with a mobile number reaches (see PATCH)",
        examples=[["own_number:read", "own_number:invoices", "own_number:notifications"]])


class FormerLoginDomain(BaseModel):
    """A previous login domain, still reserved for the company."""

    login_domain: str = Field(description="The previous login domain",
                              examples=["muster"])
    reserved_until: datetime = Field(description="Until then no other company can take it",
                                     examples=["2025-06-12T09:30:00Z"])


class Company(BaseModel):
    """The caller's company, its login domain and profile."""

    company_id: str = Field(description="The company", examples=[EXAMPLE_COMPANY_ID])
    company_name: str = Field(description="The company's name", examples=["Muster GmbH"])
    login_domain: str | None = Field(
        None, description="The part after @ of the company's usernames; the master "
                          "administrator logs in as admin@<login_domain>",
        examples=["muster-gmbh"])
    former_login_domains: list[FormerLoginDomain] = Field(
        default_factory=list, description="Previous login domains, still reserved for the "
                                          "company")
    profile: CompanyProfile = Field(description="The company's profile")


class LoginDomainChange(BaseModel):
    """The new login domain, confirmed with the current password."""

    model_config = ConfigDict(extra="forbid")
    login_domain: LoginDomain = Field(description="3–30 lower-case letters, digits and "
                                                  "single hyphens inside",
                                      examples=["muster-gmbh"])
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The current password, to confirm the change",
        examples=[EXAMPLE_PASSWORD])


def settings_view(company: CompanyAggregate) -> CompanySettings:
    s = company.settings
    return CompanySettings(
        company_id=company.id, company_name=company.name, language=company.language,
        password_policy=PasswordPolicy.model_validate(s.password_policy or {}),
        sms_login_step=bool(s.sms_login_step),
        sales_partner_access=bool(s.sales_partner_access),
        phone_login_permissions=(s.phone_login_permissions
                                 if s.phone_login_permissions is not None
                                 else list(DEFAULT_PHONE_LOGIN_PERMISSIONS)))


def company_view(company: CompanyAggregate) -> Company:
    now = time.time()
    return Company(company_id=company.id, company_name=company.name,
                   login_domain=company.login_domain,
                   former_login_domains=[
                       FormerLoginDomain(login_domain=f.login_domain,
                                         reserved_until=datetime.fromtimestamp(f.until, UTC))
                       for f in company.former_login_domains if f.until > now],
                   profile=CompanyProfile.model_validate(company.profile or {}))


@routes.get("/v1/company", response=Company, access=Access(), tags=("company",),
            problems=(409,))
async def get_company(request: web.Request, principal: Principal) -> Company:
    """Read your company

    Any logged-in user of the company. Its name, login domain (a company from before login
    domains gets one proposed from its name on first read; 409 `login-domain-taken` in the
    rare case none is free), the previous ones still reserved, and its profile."""
    return company_view(await handlers.company_with_login_domain(
        commands.ReadCompany(company_of(principal)), identity(request)))


@routes.put("/v1/company/login-domain", body=LoginDomainChange, response=Company,
            access=ADMINS, tags=("company",), problems=(403, 409, 422, 429))
async def change_login_domain(request: web.Request, body: LoginDomainChange,
                              principal: Principal) -> Company:
    """Change your company's login domain

    Company administrators only, confirmed with the current password (403
    `current-password-wrong`). The company's `name@old` usernames move to `name@new` within
    moments (each moved user gets a notice; the old ids stop working); the old domain stays
    reserved for the company (`IDENTITY_LOGIN_DOMAIN_RESERVED_DAYS`, 90) and can be taken
    back. 409 `login-domain-taken` when another company uses or reserved it. A few changes
    per company and day (`IDENTITY_LOGIN_DOMAIN_CHANGES_PER_COMPANY_PER_DAY`, 5; 429 with
    `Retry-After`)."""
    return company_view(await login_domains.change_login_domain(commands.ChangeLoginDomain(
        company_of(principal), principal.subject, body.login_domain, body.current_password),
        identity(request)))


@routes.put("/v1/company/profile", body=CompanyProfile, response=Company, access=ADMINS,
            tags=("company",))
async def put_profile(request: web.Request, body: CompanyProfile,
                      principal: Principal) -> Company:
    """Replace your company's profile

    Company administrators only. Description, industry, contact phone, email, website and
    address; a field left out is removed from the profile."""
    return company_view(await handlers.update_profile(commands.ReplaceCompanyProfile(
        company_of(principal), body.model_dump(mode="json", exclude_none=True)),
        identity(request)))


@routes.get("/v1/company/settings", response=CompanySettings, access=READERS,
            tags=("company",))
async def get_settings(request: web.Request, principal: Principal) -> CompanySettings:
    """Read your company's settings

    Company administrators, and sub-administrators with `company:read`. Company name,
    language, password requirements, the SMS login step, sales partner access and what a
    mobile-number login reaches."""
    return settings_view(await handlers.company(commands.ReadCompany(company_of(principal)),
                                                identity(request)))


@routes.patch("/v1/company/settings", body=CompanySettingsChange, response=CompanySettings,
              access=ADMINS, tags=("company",))
async def patch_settings(request: web.Request, body: CompanySettingsChange,
                         principal: Principal) -> CompanySettings:
    """Change your company's settings

    Company administrators only. Only the settings sent change. A password policy may only
    be stricter than the platform's (422 otherwise); it applies to passwords set from then
    on. Switching the SMS login step off lets password logins in without a code."""
    return settings_view(await handlers.update_settings(commands.ChangeCompanySettings(
        company_of(principal), body.model_dump(mode="json", exclude_none=True)),
        identity(request)))
