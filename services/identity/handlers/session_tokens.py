"""Staying logged in: a session's access token and rotating refresh tokens, and ending
sessions (logout, revocation)."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from services.identity.domain import secrets as codes
from services.identity.domain.commands import LogOut, RefreshSession
from services.identity.domain.companies import CompanySettings
from services.identity.domain.errors import RefreshTokenInvalid
from services.identity.domain.sessions import (
    LoginAnswer,
    SessionFamily,
    family_token,
    issued_now,
    token_family,
)
from services.identity.domain.users import User
from services.identity.handlers import Identity, company_settings
from services.identity.tokens import access_token
from shared.auth import DEFAULT_PHONE_LOGIN_PERMISSIONS, PHONE_LOGIN_PERMISSIONS


def _claims(user: User, amr: list[str], phone: str | None,
            company: CompanySettings | None) -> dict[str, Any]:
    claims: dict[str, Any] = {"typ": "user", "cid": user.company_id, "roles": list(user.roles),
                              "perms": list(user.permissions), "amr": amr}
    if phone is not None:
        # ID-6: a mobile-number login reaches only that number's own scope, further
        # restricted by what the company administrator allows.
        allowed = company.phone_login_permissions if company else None
        if allowed is None:
            allowed = list(DEFAULT_PHONE_LOGIN_PERMISSIONS)
        # A name no longer on the documented list (stored before it was dropped) gives nothing.
        claims.update(roles=[], perms=[p for p in allowed if p in PHONE_LOGIN_PERMISSIONS],
                      phone=phone)
    if user.must_change_password:
        claims["pcr"] = True
    return claims


async def start_session(ctx: Identity, user: User, amr: list[str], *,
                        phone: str | None = None, family_id: str | None = None
                        ) -> LoginAnswer:
    """An access token and the first refresh token of a new session (``family_id``: the
    family of a token issued as a bare secret, going on as a session document)."""
    family_id = family_id or uuid.uuid4().hex
    refresh = family_token(family_id, secrets.token_urlsafe(32))
    now = time.time()
    await ctx.refresh_tokens.start(SessionFamily(
        id=family_id, family_id=family_id, token_hash=codes.token_hash(refresh),
        user_id=user.id, company_id=user.company_id, amr=amr, phone=phone, status="active",
        created_at=datetime.now(UTC), issued_at=issued_now(now),
        expires=now + ctx.settings.refresh_token_days * 86400))
    return await _answer(ctx, user, amr, phone, refresh)


async def _answer(ctx: Identity, user: User, amr: list[str], phone: str | None,
                  refresh: str) -> LoginAnswer:
    # Only a mobile-number session needs the company's settings in its token.
    company = await company_settings(ctx, user.company_id) if phone is not None else None
    token = access_token(ctx.keys, issuer=ctx.settings.token_issuer,
                         audience=ctx.settings.token_audience, subject=user.id,
                         lifetime=ctx.settings.access_token_seconds,
                         **_claims(user, amr, phone, company))
    return LoginAnswer(status="authenticated", access_token=token, token_type="Bearer",
                       expires_in=ctx.settings.access_token_seconds, refresh_token=refresh,
                       password_change_required=user.must_change_password)


async def refresh(cmd: RefreshSession, identity: Identity) -> LoginAnswer:
    """Rotate a refresh token. Presenting one already rotated revokes its whole family."""
    family_id = token_family(cmd.refresh_token)
    if family_id is None:
        return await _refresh_bare(cmd, identity)
    now = time.time()
    new = family_token(family_id, secrets.token_urlsafe(32))
    # The new token replaces the presented one before the checks below: one write, and a
    # refused grant ends the family anyway.
    presented = await identity.refresh_tokens.rotate_family(
        family_id, codes.token_hash(cmd.refresh_token), new_hash=codes.token_hash(new),
        issued_at=issued_now(now), expires=now + identity.settings.refresh_token_days * 86400)
    if presented is None:
        family = await identity.refresh_tokens.family(family_id)
        if family is not None and family.status == "active":
            # A token of a live session that is not its current one: used before.
            await identity.refresh_tokens.revoke_family(family_id)
            raise _reused()
        raise RefreshTokenInvalid("Log in again.")
    if presented.expires < now:
        raise RefreshTokenInvalid("The session has expired. Log in again.")
    user = await _user_of(identity, presented.user_id, presented.issued_at, family_id)
    return await _answer(identity, user, presented.amr, presented.phone, new)


async def _user_of(ctx: Identity, user_id: str, issued_at: datetime | float,
                   family_id: str) -> User:
    """The token's user, if it may still have sessions; else the family ends."""
    user = await ctx.users.get(user_id)
    # A token issued before the password last changed is refused even if the revocation
    # after that change never ran.
    if user is None or user.status != "active" or user.password_changed_since(issued_at):
        await ctx.refresh_tokens.revoke_family(family_id)
        raise RefreshTokenInvalid("Log in again.")
    return user


def _reused() -> RefreshTokenInvalid:
    return RefreshTokenInvalid("This refresh token was already used; every session of its "
                               "login was ended. Log in again.", slug="refresh-token-reused")


async def _refresh_bare(cmd: RefreshSession, identity: Identity) -> LoginAnswer:
    """A token issued as a bare secret (a document of its own): rotated once into a session
    document of its family."""
    h = codes.token_hash(cmd.refresh_token)
    rotated = await identity.refresh_tokens.rotate(h)
    if rotated is None:
        seen = await identity.refresh_tokens.get(h)
        if seen is not None and seen.status == "rotated":
            await identity.refresh_tokens.revoke_family(seen.family_id)
            raise _reused()
        raise RefreshTokenInvalid("Log in again.")
    if rotated.expires < time.time():
        raise RefreshTokenInvalid("The session has expired. Log in again.")
    user = await _user_of(identity, rotated.user_id, rotated.created_at, rotated.family_id)
    return await start_session(identity, user, rotated.amr, phone=rotated.phone,
                               family_id=rotated.family_id)


async def revoke_user_sessions(ctx: Identity, user_id: str) -> None:
    await ctx.refresh_tokens.revoke_user(user_id)


async def log_out(cmd: LogOut, identity: Identity) -> None:
    # Only the session's tokens carry its family id: any of them ends it.
    family_id = token_family(cmd.refresh_token)
    if family_id is None:
        found = await identity.refresh_tokens.get(codes.token_hash(cmd.refresh_token))
        family_id = None if found is None else found.family_id
    if family_id is not None:
        await identity.refresh_tokens.revoke_family(family_id)
