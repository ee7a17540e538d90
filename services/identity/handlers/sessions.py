"""Logging in with a password (ID-4, ID-14), then the SMS second factor (ID-5: login_codes)
unless the company switched it off. Staying logged in: session_tokens; mobile number + SMS
(ID-6): phone_login; internal clients' tokens: clients.py.

Unknown login ids, wrong passwords, locked and deactivated accounts all get the same answer
and cost the same time.
"""

from __future__ import annotations

import time

from services.identity.domain.commands import LogIn
from services.identity.domain.errors import LoginFailed
from services.identity.domain.registration import normalise_email
from services.identity.domain.sessions import LoginAnswer
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    company_settings,
    customer_numbers,
    verify_password,
)
from services.identity.handlers.login_codes import failed, send_login_code
from services.identity.handlers.session_tokens import start_session


def login_keys(login: str) -> list[str]:
    """The claims a login id may match: an email address, a username (``name@company``
    included, ID-14), or a mobile number."""
    login = login.strip()
    keys = []
    if "@" in login:
        keys.append(f"email:{normalise_email(login)}")
    keys.append(f"username:{login.lower()}")
    return keys


async def find_user_id_by_login(ctx: Identity, login: str) -> str | None:
    if "@" not in login:
        # Seed 004: a contract holder's customer number logs in the holder's account. Looked
        # up before usernames, so nobody can take a holder's number as username and lock the
        # holder out with wrong passwords.
        holder: str | None = await customer_numbers.login_user_id(ctx, login.strip())
        if holder is not None:
            return holder
    # An email address before a ``name@company`` username, in one query.
    return await ctx.login_ids.first_owner(login_keys(login))


# -- brute force -------------------------------------------------------------------------------
# The guard lives on the user document: consecutive failures (locked once they reach the
# limit) and failures in the current hour. An attempt is taken before the password is
# checked, in the same atomic write that reads the user, so parallel guesses can never get
# more checks than the limit allows (UserRepository.take_password_attempt).

async def reserve_attempt(ctx: Identity, user_id: str) -> User | None:
    """Take one password attempt; the user (its ``login_failures`` counting this attempt),
    or None when the account is locked or unknown."""
    return await ctx.users.take_password_attempt(
        user_id, failures_before_lock=ctx.settings.login_failures_before_lock,
        failures_per_hour=ctx.settings.login_failures_per_hour)


async def attempt_failed(ctx: Identity, user: User) -> None:
    lock = user.login_failures >= ctx.settings.login_failures_before_lock
    await ctx.users.password_attempt_failed(
        user.id, lock_until=time.time() + ctx.settings.lock_minutes * 60 if lock else None)


async def attempt_succeeded(ctx: Identity, user: User) -> None:
    """Consecutive failures start again from zero (the hour's failures stay counted)."""
    await ctx.users.password_attempt_succeeded(user.id)


async def unlock(ctx: Identity, user_id: str) -> None:
    """ID-12: an administrator lifts a lock."""
    await ctx.users.unlock(user_id)


# -- password login ----------------------------------------------------------------------------
async def password_login(cmd: LogIn, identity: Identity) -> LoginAnswer:
    """ID-4: username, email or ``name@company`` and password; then the SMS step (ID-5)
    unless the company switched it off."""
    user_id = await find_user_id_by_login(identity, cmd.login)
    user = await reserve_attempt(identity, user_id) if user_id is not None else None
    ok = await verify_password(user.password_hash if user else None, cmd.password)
    if user is None or not ok or user.status != "active":
        if user is not None and not ok:
            await attempt_failed(identity, user)
        # The reason goes to /metrics only; the caller gets the same answer for each.
        failed(identity, "password", "unknown-login" if user_id is None else
               "locked" if user is None else "wrong-password" if not ok else "inactive")
        raise LoginFailed("Check the login id and the password.")
    await attempt_succeeded(identity, user)
    company = await company_settings(identity, user.company_id)
    if company.sms_login_step and user.phone:
        return await send_login_code(identity, user, user.phone, purpose="second_factor",
                                     amr=["pwd", "sms"])
    return await start_session(identity, user, ["pwd"])
