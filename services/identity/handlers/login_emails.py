"""A user's email addresses (ID-10): add one (a verification link goes to it), verify it, make
it the primary one, delete a secondary one.

Adding an address sends an email to whatever address the caller types, so it is bounded like
any other message a client can trigger: a few additions per user and hour, a few unverified
addresses per account at once (the list can not grow without bound), and a few verification
emails per recipient and hour whichever account asks (no mail bombing of a third party from
many accounts).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.errors import (
    EmailNotFound,
    EmailTaken,
    LinkExpired,
    LinkInvalid,
    PrimaryEmailDeletion,
)
from services.identity.domain.registration import normalise_email
from services.identity.handlers import Identity, claim_login, release_login
from services.identity.handlers.account import _user, _user_event, confirm_current_password
from shared.errors import Conflict, InvalidInput
from shared.ratelimit import HOUR, Limit

ADDED_PER_USER = "login-emails-per-user"
SENT_PER_ADDRESS = "verification-emails-per-address"


class TooManyUnverifiedEmails(Conflict):
    slug, title = "too-many-unverified-emails", "Too many addresses wait for verification"


async def add_email(ctx: Identity, user_id: str, company_id: str, address: str,
                    current_password: str) -> None:
    """Add an address as secondary and send it a verification link; an address added before
    and not verified yet gets a new link (its old one may have expired)."""
    s = ctx.settings
    address = normalise_email(address)
    user = await _user(ctx, user_id, company_id)
    await confirm_current_password(ctx, user, current_password)
    entry = next((e for e in user["emails"] if e["address"] == address), None)
    if entry is not None and entry["verified"]:
        raise InvalidInput([{"field": "email", "rule": "already_added",
                             "message": "this address is already on the account"}])
    unverified = [e["address"] for e in user["emails"] if not e["verified"]]
    if entry is None and len(unverified) >= s.unverified_emails_per_user:
        raise TooManyUnverifiedEmails(
            f"The account has {len(unverified)} addresses waiting for verification (at most "
            f"{s.unverified_emails_per_user}): verify one with the link sent to it, or delete "
            "one (DELETE /v1/me/emails/{address}), then add the new one.",
            unverified=unverified, limit=s.unverified_emails_per_user)
    # The address becomes a login id only once verified: adding someone else's address
    # must not block their registration or invitation.
    taken = await ctx.store.logins.find_one({"_id": f"email:{address}"})
    if taken is not None and taken["user_id"] != user_id:
        raise EmailTaken("Use another address.")
    await ctx.limits.check_all(
        [(Limit(ADDED_PER_USER, s.login_emails_per_user_per_hour, HOUR), user_id),
         (Limit(SENT_PER_ADDRESS, s.verification_emails_per_address_per_hour, HOUR), address)],
        "Too many email addresses were added, or too many verification emails went to this "
        "address, in the last hour. Try again later.")
    token = codes.new_token()
    expires = datetime.now(UTC) + timedelta(hours=s.email_verification_hours)

    def apply(doc: dict) -> list:
        if any(e["address"] == address for e in doc["emails"]):
            return []
        if sum(not e["verified"] for e in doc["emails"]) >= s.unverified_emails_per_user:
            # A parallel addition took the last place.
            raise TooManyUnverifiedEmails("Too many addresses wait for verification.",
                                          limit=s.unverified_emails_per_user)
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
