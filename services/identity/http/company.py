"""Company profile and settings (ID-13), the company's login domain (ID-14)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import (AfterValidator, BaseModel, ConfigDict, EmailStr, Field, HttpUrl,
                      StringConstraints)
from pydantic_core import PydanticCustomError

from services.identity.domain.handles import LoginDomain
from services.identity.domain.passwords import PasswordPolicy
from services.identity.domain.registration import Language, Phone
from services.identity.handlers import company as handlers
from services.identity.handlers import login_domains
from services.identity.http import IDENTITY, routes
from shared.auth import (COMPANY_ADMIN, DEFAULT_PHONE_LOGIN_PERMISSIONS,
                         PHONE_LOGIN_PERMISSIONS, Access, Principal)
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
PhoneLoginPermission = Literal[tuple(PHONE_LOGIN_PERMISSIONS)]  # type: ignore[valid-type]


class Address(BaseModel):
    street: Text
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                               max_length=10)]
    city: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class CompanyProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    industry: Text | None = None
    contact_phone: Phone | None = None
    email: EmailStr | None = None
    website: Website | None = None
    address: Address | None = None


class CompanySettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                                   max_length=200)] | None = None
    language: Language | None = None
    password_policy: PasswordPolicy | None = None
    sms_login_step: bool | None = None
    sales_partner_access: bool | None = None
    phone_login_permissions: UniqueList[PhoneLoginPermission] | None = Field(
        None, max_length=10,
        description="ID-6 (seed 002 \"Felhasználói jogok beállítása\"): what a login with a "
                    "mobile number reaches, each only for that number: " + "; ".join(
                        f"`{k}`: {v}" for k, v in PHONE_LOGIN_PERMISSIONS.items())
                    + ". Default: all of them; `[]` leaves only the account page.")


class CompanySettings(BaseModel):
    company_id: str
    company_name: str
    language: str
    password_policy: PasswordPolicy
    sms_login_step: bool
    sales_partner_access: bool
    phone_login_permissions: list[str]


class FormerLoginDomain(BaseModel):
    login_domain: str
    reserved_until: datetime = Field(description="until then no other company can take it")


class Company(BaseModel):
    company_id: str
    company_name: str
    login_domain: str | None = Field(
        None, description="ID-14: the part after @ of the company's usernames; the master "
                          "administrator logs in as admin@<login_domain>")
    former_login_domains: list[FormerLoginDomain] = Field(
        default_factory=list, description="previous login domains, still reserved for the "
                                          "company")
    profile: CompanyProfile


class LoginDomainChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login_domain: LoginDomain = Field(description="3–30 lower-case letters, digits and "
                                                  "single hyphens inside, e.g. muster-gmbh")
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


def settings_view(doc: dict) -> CompanySettings:
    s = doc.get("settings", {})
    return CompanySettings(
        company_id=doc["_id"], company_name=doc["name"], language=doc.get("language", "en"),
        password_policy=PasswordPolicy.model_validate(s.get("password_policy") or {}),
        sms_login_step=bool(s.get("sms_login_step", True)),
        sales_partner_access=bool(s.get("sales_partner_access", False)),
        phone_login_permissions=s.get("phone_login_permissions",
                                      list(DEFAULT_PHONE_LOGIN_PERMISSIONS)))


def company_view(doc: dict) -> Company:
    return Company(company_id=doc["_id"], company_name=doc["name"],
                   login_domain=doc.get("login_domain"),
                   former_login_domains=[
                       FormerLoginDomain(login_domain=f["login_domain"],
                                         reserved_until=datetime.fromtimestamp(f["until"], UTC))
                       for f in doc.get("former_login_domains", [])
                       if f["until"] > time.time()],
                   profile=CompanyProfile.model_validate(doc.get("profile") or {}))


@routes.get("/v1/company", response=Company, access=Access(), tags=("company",))
async def get_company(request: web.Request, principal: Principal) -> Company:
    """ID-13: the caller's company and its profile; ID-14: its login domain (a company from
    before login domains gets one proposed from its name on first read)."""
    ctx = request.app[IDENTITY]
    doc = await handlers.company(ctx, principal.company_id)
    if not doc.get("login_domain"):
        await login_domains.login_domain_of(ctx, principal.company_id)
        doc = await handlers.company(ctx, principal.company_id)
    return company_view(doc)


@routes.put("/v1/company/login-domain", body=LoginDomainChange, response=Company,
            access=ADMINS, tags=("company",), problems=(403, 409, 429))
async def change_login_domain(request: web.Request, body: LoginDomainChange,
                              principal: Principal) -> Company:
    """ID-14 (seed 002 "admin@cégnév"): a new login domain, confirmed with the current
    password. The company's `name@old` usernames move to `name@new` within moments (each
    moved user gets a notice; the old ids stop working); the old domain stays reserved for
    the company (`IDENTITY_LOGIN_DOMAIN_RESERVED_DAYS`, 90) and can be taken back. 409
    `login-domain-taken` when another company uses or reserved it; a few changes a day."""
    doc = await login_domains.change_login_domain(
        request.app[IDENTITY], principal.company_id, principal.subject, body.login_domain,
        body.current_password)
    return company_view(doc)


@routes.put("/v1/company/profile", body=CompanyProfile, response=Company, access=ADMINS,
            tags=("company",))
async def put_profile(request: web.Request, body: CompanyProfile,
                      principal: Principal) -> Company:
    """ID-13: description, industry, contact phone, email, website, address."""
    doc = await handlers.update_profile(request.app[IDENTITY], principal.company_id,
                                        body.model_dump(mode="json", exclude_none=True))
    return company_view(doc)


@routes.get("/v1/company/settings", response=CompanySettings, access=READERS,
            tags=("company",))
async def get_settings(request: web.Request, principal: Principal) -> CompanySettings:
    """ID-13: company name, password requirements, SMS login step, sales partner access."""
    return settings_view(await handlers.company(request.app[IDENTITY], principal.company_id))


@routes.patch("/v1/company/settings", body=CompanySettingsChange, response=CompanySettings,
              access=ADMINS, tags=("company",))
async def patch_settings(request: web.Request, body: CompanySettingsChange,
                         principal: Principal) -> CompanySettings:
    """ID-13 / ID-3 / ID-5: change settings; a password policy may only be stricter."""
    doc = await handlers.update_settings(request.app[IDENTITY], principal.company_id,
                                         body.model_dump(mode="json", exclude_none=True))
    return settings_view(doc)
