"""User administration (ID-2, ID-7, ID-12): administrators create accounts (with an
activation code or a temporary password), list users, change roles and delegated
permissions, deactivate, reactivate and unlock them; a user sees its master administrator.

Every read and write is scoped by the caller's company; a user of another company is
"not found", never "forbidden", so ids of other companies reveal nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain import users as rules
from services.identity.domain.commands import (
    ChangeRole,
    CreateUser,
    ManageUser,
    ReadParent,
    ReadUser,
)
from services.identity.domain.errors import (
    EmailTaken,
    NoParent,
    RoleNotAllowed,
    UserNotFound,
    UserStatusConflict,
)
from services.identity.domain.registration import normalise_email
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    claim_login,
    hash_password,
    login_domains,
    release_login,
)
from services.identity.handlers.account import end_password_resets
from services.identity.handlers.session_tokens import revoke_user_sessions
from services.identity.handlers.sessions import unlock
from shared.auth import SUB_ADMIN
from shared.errors import IdempotencyKeyReused


async def user_in_company(ctx: Identity, company_id: str, user_id: str) -> User:
    user = await ctx.users.get(user_id, company_id=company_id)
    if user is None:
        raise UserNotFound("No user with this id in your company.")
    return user


async def read_user(cmd: ReadUser, identity: Identity) -> User:
    """One user of the caller's company (another company's is "not found")."""
    return await user_in_company(identity, cmd.company_id, cmd.user_id)


async def acting_user(ctx: Identity, company_id: str, user_id: str) -> User:
    """The administrator making a call, as stored now (roles may have changed since the
    token was issued). A deactivated administrator whose access token has not expired yet
    can do nothing here."""
    actor = await user_in_company(ctx, company_id, user_id)
    if actor.status != "active":
        raise RoleNotAllowed("Your account is not active.", slug="account-inactive")
    return actor


# -- ID-12 reading ------------------------------------------------------------------
async def parent_of(cmd: ReadParent, identity: Identity) -> User:
    """ID-12: the master administrator of a sub-administrator (or of any user under one)."""
    company_id = cmd.company_id
    user = await user_in_company(identity, company_id, cmd.user_id)
    if not user.parent_user_id:
        raise NoParent("You are a master administrator: a master administrator has no "
                       "parent user.")
    parent = await identity.users.get(user.parent_user_id, company_id=company_id)
    if parent is None:
        raise NoParent("Your master administrator's account no longer exists.")
    return parent


# -- ID-2 / ID-7 creating accounts --------------------------------------------------
def give_activation_code(ctx: Identity, user: User) -> None:
    """A new activation code for the user, valid ``activation_code_validity``."""
    code = codes.new_activation_code()
    validity = ctx.settings.activation_code_validity.total_seconds()
    user.give_activation_code(
        code=code, code_hash=codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                                             f"activation:{user.id}", code),
        expires=time.time() + validity, valid_seconds=validity)


async def create_user(cmd: CreateUser, identity: Identity) -> User:
    """An administrator creates an account for someone.

    ``onboarding`` ``activation_code`` (ID-2): the person gets a code valid
    ``activation_code_validity`` (10 days by default), and
    chooses username and password with it. ``temporary_password`` (ID-7): the account is
    active at once with a generated password that must be changed at the first login.
    ``request_id`` makes the user id: the same request sent again creates nothing new.
    """
    company_id, actor_id = cmd.company_id, cmd.actor_id
    actor = await acting_user(identity, company_id, actor_id)
    role, permissions = cmd.role, sorted(set(cmd.permissions))
    rules.check_may_invite(actor, role)
    rules.check_may_assign(actor, role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")
    email = normalise_email(cmd.email)
    user_id = rules.user_id_for(f"{company_id}:{cmd.request_id}")
    company = await identity.companies.get(company_id)
    language = cmd.language or (company.language if company else "en")
    username = cmd.username
    existing = await identity.users.get(user_id, company_id=company_id)
    if existing is not None:
        # The same request again (its first run stopped before answering): the account it
        # made; another request under that key is refused, and claims nothing.
        if (existing.email, existing.roles) != (email, [role]):
            raise IdempotencyKeyReused("This Idempotency-Key was used for another request.")
        return existing
    if username:
        # ID-14: name@handle only with the company's own login domain.
        username = await login_domains.check_username(identity, company_id, username, [role])
    email_here = await _claim_email_or_note_elsewhere(identity, company_id, email, user_id)
    if username:
        try:
            await claim_login(identity, f"username:{username.lower()}", user_id)
        except Exception:
            await release_login(identity, f"email:{email}", user_id)
            raise
    if cmd.phone:
        await claim_login(identity, f"phone:{cmd.phone}", user_id, required=False)
    extra: dict[str, Any] = {"created_by": actor_id}
    if not email_here:
        # The address is another company's account. Saying so would tell this company who
        # is a customer: the account looks made as asked, but nothing reaches the address
        # (no code, no password) and nothing made here logs in (the address logs in its
        # real account, an activation finds that one).
        extra["email_elsewhere"] = True
    user = User.new(user_id=user_id, company_id=company_id, email=email, email_verified=False,
                    username=username, first_name=cmd.first_name, surname=cmd.surname,
                    phone=cmd.phone, language=language, role=role, permissions=permissions,
                    parent_user_id=rules.parent_for(role, actor), status="pending_activation",
                    password_hash=None, now=datetime.now(UTC), **extra)
    if cmd.onboarding == "temporary_password":
        password = codes.new_temporary_password()
        user.status = "active"
        user.must_change_password = True
        user.password_hash = await hash_password(password)
        # Any password set ends every open reset link of the account.
        await end_password_resets(identity, user_id)
        user.activated()
        if email_here:
            user.record(events.TEMPORARY_PASSWORD_ISSUED, events.TemporaryPasswordIssued(
                user_id=user_id, company_id=company_id, email=email, language=language,
                login_id=user.login_id, temporary_password=password))
    elif email_here:
        give_activation_code(identity, user)
    if not await identity.users.create(user):
        return await user_in_company(identity, company_id, user_id)
    return user


async def _claim_email_or_note_elsewhere(ctx: Identity, company_id: str, email: str,
                                         user_id: str) -> bool:
    """Claim the address for the new account; False when it is another company's account.
    An account of this very company is a clear conflict: the administrator sees it anyway."""
    try:
        return await claim_login(ctx, f"email:{email}", user_id)
    except EmailTaken:
        owner = await ctx.login_ids.owner(f"email:{email}")
        if owner is None or await ctx.users.get(owner, company_id=company_id) is not None:
            raise EmailTaken("This address already has an account in your company.") from None
        return False


async def reissue_activation_code(ctx: Identity, user: User) -> bool:
    """A new activation code (the old one stops working) for an account not yet activated."""
    def renew(u: User) -> None:
        if u.status != "pending_activation":
            raise UserStatusConflict("This account is activated already; log in instead.")
        give_activation_code(ctx, u)
    return await ctx.users.change(user.id, renew) is not None


async def admin_reissue_activation_code(cmd: ManageUser, identity: Identity) -> None:
    """ID-2: an administrator sends a new code, e.g. after the first one expired."""
    actor = await acting_user(identity, cmd.company_id, cmd.actor_id)
    user = await user_in_company(identity, cmd.company_id, cmd.user_id)
    rules.check_may_invite(actor, user.roles[0])
    if user.email_elsewhere:
        if user.status != "pending_activation":
            raise UserStatusConflict("This account is activated already; log in instead.")
        return  # the same answer as a sent code; the address belongs to another account
    await reissue_activation_code(identity, user)


# -- ID-12 changing -----------------------------------------------------------------
async def change_role(cmd: ChangeRole, identity: Identity) -> User:
    """A new role (and, for a sub-administrator, its delegated permissions)."""
    company_id, user_id, role = cmd.company_id, cmd.user_id, cmd.role
    actor = await acting_user(identity, company_id, cmd.actor_id)
    target = await user_in_company(identity, company_id, user_id)
    rules.check_may_manage(actor, target)
    permissions = sorted(set(cmd.permissions))
    rules.check_may_assign(actor, role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")
    parent = rules.parent_for(role, actor)
    return _saved(await identity.users.change(
        user_id, lambda u: u.change_role(role, permissions, parent), company_id=company_id))


async def deactivate(cmd: ManageUser, identity: Identity) -> User:
    """The user can no longer log in; every session of theirs ends."""
    await _managing(identity, cmd)
    saved = await identity.users.change(cmd.user_id, User.deactivate, company_id=cmd.company_id)
    await revoke_user_sessions(identity, cmd.user_id)
    return _saved(saved)


async def reactivate(cmd: ManageUser, identity: Identity) -> User:
    """The user can log in again (or, never activated, activate with a code again)."""
    await _managing(identity, cmd)
    return _saved(await identity.users.change(cmd.user_id, User.reactivate,
                                         company_id=cmd.company_id))


async def unlock_user(cmd: ManageUser, identity: Identity) -> User:
    """Lift a lock from too many wrong passwords."""
    await _managing(identity, cmd)
    await unlock(identity, cmd.user_id)
    return await user_in_company(identity, cmd.company_id, cmd.user_id)


async def _managing(ctx: Identity, cmd: ManageUser) -> None:
    actor = await acting_user(ctx, cmd.company_id, cmd.actor_id)
    rules.check_may_manage(actor, await user_in_company(ctx, cmd.company_id, cmd.user_id))


def _saved(user: User | None) -> User:
    if user is None:  # removed between the check and the write
        raise UserNotFound("No user with this id in your company.")
    return user
