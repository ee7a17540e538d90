"""Company profile and settings (ID-13): only company administrators change them."""

from __future__ import annotations

from services.identity import events
from services.identity.handlers import Identity
from shared.errors import NotFound


async def company(ctx: Identity, company_id: str) -> dict:
    doc = await ctx.store.companies.get({"_id": company_id})
    if doc is None:
        raise NotFound("No such company.")
    return doc


async def update_profile(ctx: Identity, company_id: str, profile: dict) -> dict:
    def apply(doc: dict) -> list:
        doc["profile"] = profile
        return []
    saved = await ctx.store.companies.change({"_id": company_id}, apply)
    if saved is None:
        raise NotFound("No such company.")
    return saved


async def update_settings(ctx: Identity, company_id: str, changes: dict) -> dict:
    """Apply the given settings; the password policy can only be stricter than the platform's
    (its model refuses weaker values)."""
    def apply(doc: dict) -> list:
        settings = dict(doc.get("settings", {}))
        if "company_name" in changes:
            doc["name"] = changes["company_name"]
        if "language" in changes:
            doc["language"] = changes["language"]
        for key in ("password_policy", "sms_login_step", "sales_partner_access",
                    "phone_login_permissions"):
            if key in changes:
                settings[key] = changes[key]
        doc["settings"] = settings
        return [ctx.event(events.COMPANY_SETTINGS_CHANGED, events.CompanySettingsChanged(
            company_id=company_id, company_name=doc["name"], language=doc["language"],
            sms_login_step=settings.get("sms_login_step", True),
            sales_partner_access=settings.get("sales_partner_access", False)),
            subject=company_id, company_id=company_id)]
    saved = await ctx.store.companies.change({"_id": company_id}, apply)
    if saved is None:
        raise NotFound("No such company.")
    ctx.settings_cache.pop(company_id, None)
    return saved
