"""Company profile and settings (ID-13): only company administrators change them."""

from __future__ import annotations

from collections.abc import Callable

from services.identity.domain.commands import (
    ChangeCompanySettings,
    ReadCompany,
    ReplaceCompanyProfile,
)
from services.identity.domain.companies import Company, CompanySettings
from services.identity.events import COMPANY_SETTINGS_CHANGED, CompanySettingsChanged
from services.identity.handlers import Identity
from services.identity.handlers.login_domains import login_domain_of
from shared.errors import NotFound

# The settings a company administrator changes one by one (PATCH /v1/company/settings).
SETTINGS = ("password_policy", "sms_login_step", "sales_partner_access",
            "phone_login_permissions")


async def company(cmd: ReadCompany, ctx: Identity) -> Company:
    found = await ctx.companies.get(cmd.company_id)
    if found is None:
        raise NotFound("No such company.")
    return found


async def company_with_login_domain(cmd: ReadCompany, ctx: Identity) -> Company:
    """The company; one from before login domains gets one proposed from its name now."""
    found = await company(cmd, ctx)
    if found.login_domain:
        return found
    await login_domain_of(ctx, cmd.company_id)
    return await company(cmd, ctx)


async def _changed(ctx: Identity, company_id: str, change: Callable[[Company], None]
                   ) -> Company:
    saved = await ctx.companies.change(company_id, change)
    if saved is None:
        raise NotFound("No such company.")
    return saved


async def update_profile(cmd: ReplaceCompanyProfile, ctx: Identity) -> Company:
    def apply(c: Company) -> None:
        c.profile = cmd.profile
    return await _changed(ctx, cmd.company_id, apply)


async def update_settings(cmd: ChangeCompanySettings, ctx: Identity) -> Company:
    """Apply the given settings; the password policy can only be stricter than the platform's
    (its model refuses weaker values)."""
    company_id, changes = cmd.company_id, cmd.changes

    def apply(c: Company) -> None:
        if "company_name" in changes:
            c.name = changes["company_name"]
        if "language" in changes:
            c.language = changes["language"]
        c.settings = CompanySettings.model_validate({
            **c.settings.model_dump(exclude_unset=True),
            **{key: changes[key] for key in SETTINGS if key in changes}})
        c.record(COMPANY_SETTINGS_CHANGED, CompanySettingsChanged(
            company_id=company_id, company_name=c.name, language=c.language,
            sms_login_step=c.settings.sms_login_step,
            sales_partner_access=c.settings.sales_partner_access))
    saved = await _changed(ctx, company_id, apply)
    ctx.settings_cache.pop(company_id, None)
    return saved
