"""The user's own account: forgotten password (ID-8), password, username and contact details
(ID-9), email addresses (ID-10), first-login completion (ID-4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.errors import (CurrentPasswordWrong, EmailNotFound, EmailTaken,
                                             LinkExpired, LinkInvalid, PrimaryEmailDeletion)
from services.identity.domain.registration import normalise_email
from services.identity.handlers import (Identity, check_new_password, claim_login,
                                        company_policy, hash_password, release_login,
                                        verify_password)
from services.identity.handlers.sessions import revoke_user_sessions
from shared.errors import InvalidInput, NotFound

PASSWORD_HISTORY_KEPT = 24


def _user_event(ctx: Identity, spec, data) -> dict:
    return ctx.event(spec, data, subject=data.user_id, company_id=data.company_id)


async def _user(ctx: Identity, user_id: str, company_id: str) -> dict:
    user = await ctx.store.users.get({"_id": user_id, "company_id": company_id})
    if user is None:
        raise NotFound("No such user.")
    return user


async def _set_password(ctx: Identity, user: dict, new_password: str, repeat: str) -> None:
    """Check the policy (with history and username) and store the new hash; the user's
    sessions end and a "password changed" email follows."""
    policy = await company_policy(ctx, user["company_id"])
    history = [*user.get("password_history", []), user["password_hash"]]
    await check_new_password(new_password, policy=policy, username=user.get("username"),
                             history=history, repeat=repeat)
    new_hash = await hash_password(new_password)
    now = datetime.now(UTC)

    def apply(doc: dict) -> list:
        doc["password_history"] = [*doc.get("password_history", []),
                                   doc["password_hash"]][-PASSWORD_HISTORY_KEPT:]
        doc["password_hash"] = new_hash
        doc["must_change_password"] = False
        doc["password_changed_at"] = now
        return [_user_event(ctx, events.PASSWORD_CHANGED, events.PasswordChanged(
            user_id=doc["_id"], company_id=doc["company_id"], email=doc["email"],
            language=doc.get("language", "en"), changed_at=now))]
    await ctx.store.users.change({"_id": user["_id"]}, apply)
    await revoke_user_sessions(ctx, user["_id"])


# -- ID-8 forgotten password ---------------------------------------------------------------------
async def request_password_reset(ctx: Identity, email: str) -> None:
    """Same answer, and about the same time, for known and unknown addresses."""
    claim = await ctx.store.logins.find_one({"_id": f"email:{normalise_email(email)}"})
    user = await ctx.store.users.get({"_id": claim["user_id"]}) if claim else None
    if user is None or user["status"] != "active":
        return
    token = codes.new_token()
    expires = datetime.now(UTC) + timedelta(minutes=ctx.settings.password_reset_minutes)
    await ctx.store.password_resets.create(
        {"_id": codes.token_hash(token), "user_id": user["_id"],
         "company_id": user["company_id"], "status": "open", "expires_at": expires,
         "created_at": datetime.now(UTC)},
        [_user_event(ctx, events.PASSWORD_RESET_REQUESTED, events.PasswordResetRequested(
            user_id=user["_id"], company_id=user["company_id"], email=user["email"],
            language=user.get("language", "en"), token=token, expires_at=expires))])


async def reset_password(ctx: Identity, token: str, new_password: str, repeat: str) -> None:
    """A reset link works once, until it expires."""
    h = codes.token_hash(token)
    reset = await ctx.store.password_resets.get({"_id": h})
    if reset is None or reset["status"] != "open":
        raise LinkInvalid("The link is not valid or was used already. Ask for a new one.")
    if reset["expires_at"] <= datetime.now(UTC):
        raise LinkExpired("The link has expired. Ask for a new one.")
    user = await ctx.store.users.get({"_id": reset["user_id"]})
    if user is None:
        raise LinkInvalid("The link is not valid. Ask for a new one.")
    policy = await company_policy(ctx, user["company_id"])
    await check_new_password(new_password, policy=policy, username=user.get("username"),
                             history=[*user.get("password_history", []),
                                      user["password_hash"]], repeat=repeat)
    used = await ctx.store.password_resets.collection.find_one_and_update(
        {"_id": h, "status": "open"}, {"$set": {"status": "used"}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    if used is None:
        raise LinkInvalid("The link was used already. Ask for a new one.")
    await _set_password(ctx, user, new_password, repeat)


# -- ID-9 ------------------------------------------------------------------------------------------
async def change_password(ctx: Identity, user_id: str, company_id: str, current: str,
                          new_password: str, repeat: str) -> None:
    user = await _user(ctx, user_id, company_id)
    if not await verify_password(user["password_hash"], current):
        raise CurrentPasswordWrong("The current password is not correct.")
    await _set_password(ctx, user, new_password, repeat)


async def change_username(ctx: Identity, user_id: str, company_id: str, username: str,
                          password: str) -> None:
    user = await _user(ctx, user_id, company_id)
    if not await verify_password(user["password_hash"], password):
        raise CurrentPasswordWrong("The current password is not correct.")
    new_key = f"username:{username.lower()}"
    await claim_login(ctx, new_key, user_id)
    old = user.get("username")

    def apply(doc: dict) -> list:
        doc["username"] = username
        return [_user_event(ctx, events.USERNAME_CHANGED, events.UsernameChanged(
            user_id=doc["_id"], company_id=doc["company_id"], email=doc["email"],
            username=username, language=doc.get("language", "en")))]
    await ctx.store.users.change({"_id": user_id}, apply)
    if old and old.lower() != username.lower():
        await release_login(ctx, f"username:{old.lower()}", user_id)


async def change_contact_details(ctx: Identity, user_id: str, company_id: str,
                                 changes: dict) -> dict:
    """Phone and language; first name and surname can not be changed (ID-9)."""
    user = await _user(ctx, user_id, company_id)
    if "phone" in changes and changes["phone"] != user.get("phone"):
        await claim_login(ctx, f"phone:{changes['phone']}", user_id, required=False)
        if user.get("phone"):
            await release_login(ctx, f"phone:{user['phone']}", user_id)

    def apply(doc: dict) -> list:
        doc.update(changes)
        return []
    return await ctx.store.users.change({"_id": user_id}, apply)


# -- ID-10 email addresses ---------------------------------------------------------------------
async def add_email(ctx: Identity, user_id: str, company_id: str, address: str) -> None:
    """Add an address as secondary and send it a verification link."""
    address = normalise_email(address)
    user = await _user(ctx, user_id, company_id)
    if any(e["address"] == address for e in user["emails"]):
        raise InvalidInput([{"field": "email", "rule": "already_added",
                             "message": "this address is already on the account"}])
    # The address becomes a login id only once verified: adding someone else's address
    # must not block their registration or invitation.
    taken = await ctx.store.logins.find_one({"_id": f"email:{address}"})
    if taken is not None and taken["user_id"] != user_id:
        raise EmailTaken("Use another address.")
    token = codes.new_token()
    expires = datetime.now(UTC) + timedelta(hours=ctx.settings.email_verification_hours)

    def apply(doc: dict) -> list:
        doc["emails"] = [*doc["emails"], {"address": address, "verified": False,
                                          "primary": False}]
        return []
    await ctx.store.users.change({"_id": user_id}, apply)
    await ctx.store.email_verifications.create(
        {"_id": codes.token_hash(token), "user_id": user_id, "company_id": company_id,
         "address": address, "status": "open", "expires_at": expires},
        [_user_event(ctx, events.EMAIL_CHANGE_REQUESTED, events.EmailChangeRequested(
            user_id=user_id, company_id=company_id, old_email=user["email"],
            new_email=address, language=user.get("language", "en"), token=token,
            expires_at=expires))])


async def verify_email(ctx: Identity, token: str) -> str:
    h = codes.token_hash(token)
    doc = await ctx.store.email_verifications.get({"_id": h})
    if doc is None or doc["status"] != "open":
        raise LinkInvalid("The link is not valid or was used already.")
    if doc["expires_at"] <= datetime.now(UTC):
        raise LinkExpired("The link has expired. Add the address again.")
    await claim_login(ctx, f"email:{doc['address']}", doc["user_id"])
    used = await ctx.store.email_verifications.collection.find_one_and_update(
        {"_id": h, "status": "open"}, {"$set": {"status": "used"}, "$inc": {"version": 1}})
    if used is None:
        raise LinkInvalid("The link was used already.")

    def apply(user: dict) -> list:
        user["emails"] = [{**e, "verified": True} if e["address"] == doc["address"] else e
                          for e in user["emails"]]
        return []
    await ctx.store.users.change({"_id": doc["user_id"]}, apply)
    return doc["address"]


async def make_primary(ctx: Identity, user_id: str, company_id: str, address: str) -> None:
    """A verified address becomes the primary one; the old one gets a notice (ID-10)."""
    address = normalise_email(address)
    user = await _user(ctx, user_id, company_id)
    entry = next((e for e in user["emails"] if e["address"] == address), None)
    if entry is None:
        raise EmailNotFound("This address is not on the account.")
    if not entry["verified"]:
        raise InvalidInput([{"field": "email", "rule": "not_verified",
                             "message": "verify the address with the link sent to it first"}])
    if entry["primary"]:
        return

    def apply(doc: dict) -> list:
        old = doc["email"]
        doc["email"] = address
        doc["emails"] = [{**e, "primary": e["address"] == address} for e in doc["emails"]]
        return [_user_event(ctx, events.EMAIL_CHANGED, events.EmailChanged(
            user_id=doc["_id"], company_id=doc["company_id"], old_email=old,
            new_email=address, language=doc.get("language", "en")))]
    await ctx.store.users.change({"_id": user_id}, apply)


async def delete_email(ctx: Identity, user_id: str, company_id: str, address: str) -> None:
    address = normalise_email(address)
    user = await _user(ctx, user_id, company_id)
    entry = next((e for e in user["emails"] if e["address"] == address), None)
    if entry is None:
        raise EmailNotFound("This address is not on the account.")
    if entry["primary"]:
        raise PrimaryEmailDeletion("Make another address primary first.")

    def apply(doc: dict) -> list:
        doc["emails"] = [e for e in doc["emails"] if e["address"] != address]
        return []
    await ctx.store.users.change({"_id": user_id}, apply)
    await release_login(ctx, f"email:{address}", user_id)
