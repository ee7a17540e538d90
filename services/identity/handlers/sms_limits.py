"""Which SMS allowances each way of getting a login code spends.

A second-factor code goes out only after a correct password, so it spends only allowances
nobody else can spend: per user, per phone and per company, each its own counter. A mobile-
number login (ID-6) can be started by anyone who knows or guesses a number, so it spends its
own allowances: per client IP, per number (counted whether or not an account uses the number:
issue 9's rule against enumeration) and a share per company. A stranger's phone logins can so
neither make the holder's password login answer 429 nor use up the second-factor codes of the
holder's company. Reset codes and phone verification codes spend ``sms_per_phone`` and
``sms_per_company``, which neither login path spends.
"""

from __future__ import annotations

from services.identity.domain.users import User
from services.identity.handlers import Identity
from shared.ratelimit import HOUR, Limit

SMS_REFUSED = "Too many codes were sent to this number. Try again later."


def sms_per_phone(ctx: Identity) -> Limit:
    """SMS other than login codes (reset codes, new phone verification) per number."""
    return Limit("sms-per-phone", ctx.settings.sms_per_phone_per_hour, HOUR)


def sms_per_company(ctx: Identity) -> Limit:
    """SMS other than login codes (reset codes, new phone verification) per company."""
    return Limit("sms-per-company", ctx.settings.sms_per_company_per_hour, HOUR)


def _second_factor(ctx: Identity, user: User, phone: str) -> list[tuple[Limit, str]]:
    s = ctx.settings
    return [(Limit("second-factor-sms-per-user", s.second_factor_sms_per_user_per_hour, HOUR),
             user.id),
            (Limit("second-factor-sms-per-phone", s.second_factor_sms_per_phone_per_hour,
                   HOUR), phone),
            (Limit("second-factor-sms-per-company", s.second_factor_sms_per_company_per_hour,
                   HOUR), user.company_id)]


async def take_second_factor(ctx: Identity, user: User, phone: str) -> None:
    """One second-factor code for ``user`` (who gave the correct password) to ``phone``: a
    refusal tells the caller nothing it does not know, so it is a 429 naming the limit."""
    await ctx.limits.check_all(_second_factor(ctx, user, phone), SMS_REFUSED)


async def take_phone_login(ctx: Identity, number: str, client_ip: str) -> None:
    """A mobile-number login (start or resend) from ``client_ip`` for ``number``, known or
    not: the same 429 either way, so a refusal reveals nothing about the number."""
    s = ctx.settings
    await ctx.limits.check_all([
        (Limit("phone-logins-per-ip", s.phone_logins_per_ip_per_hour, HOUR), client_ip),
        (Limit("phone-login-sms-per-phone", s.phone_login_sms_per_phone_per_hour, HOUR),
         number)], SMS_REFUSED)


async def phone_login_deliverable(ctx: Identity, user: User | None) -> bool:
    """Whether a mobile-number login's code may go to ``user`` now: an active account whose
    company has phone-login codes left this hour. False answers like an unknown number (a
    decoy, nothing sent), so the share used up tells a stranger nothing."""
    if user is None or user.status != "active":
        return False
    return await ctx.limits.take(Limit("phone-login-sms-per-company",
                                       ctx.settings.phone_login_sms_per_company_per_hour, HOUR),
                                 user.company_id)
