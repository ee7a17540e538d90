"""User administration (ID-2, ID-7, ID-12): administrators create accounts (with an
activation code or a temporary password), list users, change roles and delegated
permissions, deactivate, reactivate and unlock them; a user sees its master administrator.

Every read and write is scoped by the caller's company; a user of another company is
"not found", never "forbidden", so ids of other companies reveal nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain import users as rules
from services.identity.domain.errors import (
    EmailTaken,
    NoParent,
    RoleNotAllowed,
    UserNotFound,
    UserStatusConflict,
)
from services.identity.domain.registration import normalise_email
from services.identity.handlers import (
    Identity,
    claim_login,
    create_once,
    hash_password,
    login_domains,
    release_login,
)
from services.identity.handlers.account import end_password_resets
from services.identity.handlers.session_tokens import revoke_user_sessions
from services.identity.handlers.sessions import unlock
from shared.auth import SUB_ADMIN
from shared.errors import IdempotencyKeyReused

MAX_PAGE = 200


def _event(ctx: Identity, spec, data) -> dict:
    return ctx.event(spec, data, subject=data.user_id, company_id=data.company_id)


async def user_in_company(ctx: Identity, company_id: str, user_id: str) -> dict:
    user = await ctx.store.users.get({"_id": user_id, "company_id": company_id})
    if user is None:
        raise UserNotFound("No user with this id in your company.")
    return user


async def acting_user(ctx: Identity, company_id: str, user_id: str) -> dict:
    """The administrator making a call, as stored now (roles may have changed since the
    token was issued). A deactivated administrator whose access token has not expired yet
    can do nothing here."""
    actor = await user_in_company(ctx, company_id, user_id)
    if actor["status"] != "active":
        raise RoleNotAllowed("Your account is not active.", slug="account-inactive")
    return actor


# -- ID-12 reading ------------------------------------------------------------------
async def list_users(ctx: Identity, company_id: str, *, role: str | None = None,
                     status: str | None = None, after: str | None = None,
                     limit: int = 50) -> tuple[list[dict], str | None]:
    """One page of the company's users by id; the cursor is the last id of the page."""
    query: dict = {"company_id": company_id}
    if role:
        query["roles"] = role
    if status:
        query["status"] = status
    if after:
        query["_id"] = {"$gt": after}
    limit = max(1, min(limit, MAX_PAGE))
    docs = await ctx.store.users.collection.find(query).sort("_id", 1).limit(
        limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1]["_id"] if more else None)


async def parent_of(ctx: Identity, company_id: str, user_id: str) -> dict:
    """ID-12: the master administrator of a sub-administrator (or of any user under one)."""
    user = await user_in_company(ctx, company_id, user_id)
    if not user.get("parent_user_id"):
        raise NoParent("You are a master administrator: a master administrator has no "
                       "parent user.")
    parent = await ctx.store.users.get({"_id": user["parent_user_id"],
                                        "company_id": company_id})
    if parent is None:
        raise NoParent("Your master administrator's account no longer exists.")
    return parent


# -- ID-2 / ID-7 creating accounts --------------------------------------------------
def _activation_fields(ctx: Identity, user_id: str) -> tuple[str, dict]:
    code = codes.new_activation_code()
    validity = ctx.settings.activation_code_validity.total_seconds()
    expires = time.time() + validity
    # The validity is kept with the code: its email and its expiry problem state it.
    return code, {"activation_code_hash": codes.code_hash(
                      ctx.settings.code_pepper.get_secret_value(), f"activation:{user_id}",
                      code),
                  "activation_expires": expires, "activation_valid_seconds": validity,
                  "activation_tries": 0}


def activation_code_event(ctx: Identity, user: dict, code: str) -> dict:
    return _event(ctx, events.ACTIVATION_CODE_ISSUED, events.ActivationCodeIssued(
        user_id=user["_id"], company_id=user["company_id"], email=user["email"],
        language=user.get("language", "en"), code=code,
        expires_at=datetime.fromtimestamp(user["activation_expires"], UTC),
        valid_for=timedelta(seconds=user["activation_valid_seconds"])))


async def create_user(ctx: Identity, company_id: str, actor_id: str, cmd: dict,
                      request_id: str) -> dict:
    """An administrator creates an account for someone.

    ``onboarding`` ``activation_code`` (ID-2): the person gets a code valid
    ``activation_code_validity`` (10 days by default), and
    chooses username and password with it. ``temporary_password`` (ID-7): the account is
    active at once with a generated password that must be changed at the first login.
    ``request_id`` makes the user id: the same request sent again creates nothing new.
    """
    actor = await acting_user(ctx, company_id, actor_id)
    role, permissions = cmd["role"], sorted(set(cmd.get("permissions") or []))
    rules.check_may_invite(actor, role)
    rules.check_may_assign(actor, role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")
    email = normalise_email(cmd["email"])
    user_id = rules.user_id_for(f"{company_id}:{request_id}")
    company = await ctx.store.companies.get({"_id": company_id}) or {}
    language = cmd.get("language") or company.get("language", "en")
    username = cmd.get("username")
    existing = await user_in_company_or_none(ctx, company_id, user_id)
    if existing is not None:
        # The same Idempotency-Key again: the same request gets the account it made; another
        # request under that key is refused, and claims nothing for the existing account.
        if (existing["email"], existing["roles"]) != (email, [role]):
            raise IdempotencyKeyReused("This Idempotency-Key was used for another request.")
        return existing
    if username:
        # ID-14: name@handle only with the company's own login domain.
        username = await login_domains.check_username(ctx, company_id, username, [role])
    email_here = await _claim_email_or_note_elsewhere(ctx, company_id, email, user_id)
    if username:
        try:
            await claim_login(ctx, f"username:{username.lower()}", user_id)
        except Exception:
            await release_login(ctx, f"email:{email}", user_id)
            raise
    if cmd.get("phone"):
        await claim_login(ctx, f"phone:{cmd['phone']}", user_id, required=False)
    user = {"_id": user_id, "company_id": company_id, "email": email,
            "emails": [{"address": email, "verified": False, "primary": True}],
            "username": username, "first_name": cmd["first_name"], "surname": cmd["surname"],
            "phone": cmd.get("phone"), "language": language, "roles": [role],
            "permissions": permissions, "parent_user_id": rules.parent_for(role, actor),
            "status": "pending_activation", "password_hash": None, "password_history": [],
            "must_change_password": False, "created_at": datetime.now(UTC),
            "created_by": actor_id}
    if not email_here:
        # The address is another company's account. Saying so would tell this company who
        # is a customer: the account looks made as asked, but nothing reaches the address
        # (no code, no password) and nothing made here logs in (the address logs in its
        # real account, an activation finds that one).
        user["email_elsewhere"] = True
    if cmd.get("onboarding") == "temporary_password":
        password = codes.new_temporary_password()
        user.update(status="active", must_change_password=True,
                    password_hash=await hash_password(password))
        # Any password set ends every open reset link of the account.
        await end_password_resets(ctx, user_id)
        new_events = [
            _event(ctx, events.USER_ACTIVATED, events.UserActivated(
                user_id=user_id, company_id=company_id, email=email,
                first_name=user["first_name"], surname=user["surname"], roles=user["roles"],
                parent_user_id=user["parent_user_id"], language=language))]
        if email_here:
            new_events.append(_event(
                ctx, events.TEMPORARY_PASSWORD_ISSUED, events.TemporaryPasswordIssued(
                    user_id=user_id, company_id=company_id, email=email, language=language,
                    login_id=rules.login_id(user), temporary_password=password)))
    elif not email_here:
        new_events = []
    else:
        code, fields = _activation_fields(ctx, user_id)
        user.update(fields)
        new_events = [activation_code_event(ctx, user, code)]
    if not await create_once(ctx.store.users, user, new_events):
        existing = await user_in_company(ctx, company_id, user_id)
        return existing
    return user


async def _claim_email_or_note_elsewhere(ctx: Identity, company_id: str, email: str,
                                         user_id: str) -> bool:
    """Claim the address for the new account; False when it is another company's account.
    An account of this very company is a clear conflict: the administrator sees it anyway."""
    try:
        return await claim_login(ctx, f"email:{email}", user_id)
    except EmailTaken:
        claim = await ctx.store.logins.find_one({"_id": f"email:{email}"})
        if claim is None or await ctx.store.users.get(
                {"_id": claim["user_id"], "company_id": company_id}) is not None:
            raise EmailTaken("This address already has an account in your company.") from None
        return False


async def user_in_company_or_none(ctx: Identity, company_id: str, user_id: str) -> dict | None:
    return await ctx.store.users.get({"_id": user_id, "company_id": company_id})


async def reissue_activation_code(ctx: Identity, user: dict) -> bool:
    """A new activation code (the old one stops working) for an account not yet activated."""
    code, fields = _activation_fields(ctx, user["_id"])

    def renew(doc: dict) -> list:
        if doc["status"] != "pending_activation":
            raise UserStatusConflict("This account is activated already; log in instead.")
        doc.update(fields)
        return [activation_code_event(ctx, doc, code)]
    return await ctx.store.users.change({"_id": user["_id"]}, renew) is not None


async def admin_reissue_activation_code(ctx: Identity, company_id: str, actor_id: str,
                                        user_id: str) -> None:
    """ID-2: an administrator sends a new code, e.g. after the first one expired."""
    actor = await acting_user(ctx, company_id, actor_id)
    user = await user_in_company(ctx, company_id, user_id)
    rules.check_may_invite(actor, user["roles"][0])
    if user.get("email_elsewhere"):
        if user["status"] != "pending_activation":
            raise UserStatusConflict("This account is activated already; log in instead.")
        return  # the same answer as a sent code; the address belongs to another account
    await reissue_activation_code(ctx, user)


# -- ID-12 changing -----------------------------------------------------------------
async def change_role(ctx: Identity, company_id: str, actor_id: str, user_id: str,
                      role: str, permissions: list[str]) -> dict:
    """A new role (and, for a sub-administrator, its delegated permissions)."""
    actor = await acting_user(ctx, company_id, actor_id)
    target = await user_in_company(ctx, company_id, user_id)
    rules.check_may_manage(actor, target)
    permissions = sorted(set(permissions))
    rules.check_may_assign(actor, role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")

    def apply(doc: dict) -> list:
        if doc["roles"] == [role] and doc.get("permissions", []) == permissions:
            return []
        doc["roles"] = [role]
        doc["permissions"] = permissions
        doc["parent_user_id"] = rules.parent_for(role, actor)
        return [_event(ctx, events.ROLE_CHANGED, events.RoleChanged(
            user_id=doc["_id"], company_id=company_id, email=doc["email"],
            roles=doc["roles"], permissions=permissions))]
    return await ctx.store.users.change({"_id": user_id, "company_id": company_id}, apply)


async def deactivate(ctx: Identity, company_id: str, actor_id: str, user_id: str) -> dict:
    """The user can no longer log in; every session of theirs ends."""
    actor = await acting_user(ctx, company_id, actor_id)
    target = await user_in_company(ctx, company_id, user_id)
    rules.check_may_manage(actor, target)

    def apply(doc: dict) -> list:
        if doc["status"] == "deactivated":
            return []
        doc["status_before_deactivation"] = doc["status"]
        doc["status"] = "deactivated"
        return [_event(ctx, events.USER_DEACTIVATED, events.UserStatusChanged(
            user_id=doc["_id"], company_id=company_id, email=doc["email"]))]
    saved = await ctx.store.users.change({"_id": user_id, "company_id": company_id}, apply)
    await revoke_user_sessions(ctx, user_id)
    return saved


async def reactivate(ctx: Identity, company_id: str, actor_id: str, user_id: str) -> dict:
    """The user can log in again (or, never activated, activate with a code again)."""
    actor = await acting_user(ctx, company_id, actor_id)
    target = await user_in_company(ctx, company_id, user_id)
    rules.check_may_manage(actor, target)

    def apply(doc: dict) -> list:
        if doc["status"] != "deactivated":
            return []
        doc["status"] = doc.pop("status_before_deactivation", None) or (
            "active" if doc.get("password_hash") else "pending_activation")
        return [_event(ctx, events.USER_REACTIVATED, events.UserStatusChanged(
            user_id=doc["_id"], company_id=company_id, email=doc["email"]))]
    return await ctx.store.users.change({"_id": user_id, "company_id": company_id}, apply)


async def unlock_user(ctx: Identity, company_id: str, actor_id: str, user_id: str) -> dict:
    """Lift a lock from too many wrong passwords."""
    actor = await acting_user(ctx, company_id, actor_id)
    target = await user_in_company(ctx, company_id, user_id)
    rules.check_may_manage(actor, target)
    await unlock(ctx, user_id)
    return await user_in_company(ctx, company_id, user_id)


