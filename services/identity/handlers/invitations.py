"""Invitations (ID-11): an administrator invites one address or imports many from a CSV or
XLSX file, each with a role; each invitee gets a personal link (valid
``invitation_days``), sets name, phone and password, and the administrator sees the
invitation accepted. Invitations can be sent again (a new link; the old one stops working)
and withdrawn.

Imports of many addresses from a file are in ``invitation_imports``.

Abuse limits (issue 9): single invitations and resends count against hourly and daily limits
per company. An address with an account in another company is invited like any other: only
its owner learns, on accepting, that it can not be used (no enumeration across companies).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from services.identity import events
from services.identity.domain import invitations as inv
from services.identity.domain import users as rules
from services.identity.domain.errors import (
    EmailTaken,
    InvitationAccepted,
    InvitationExpired,
    InvitationInvalid,
    InvitationNotFound,
    InvitationPending,
    InvitationRevoked,
    RoleNotAllowed,
    UserStatusConflict,
)
from services.identity.domain.registration import normalise_email
from services.identity.domain.secrets import new_token, token_hash
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    company_policy,
    create_once,
    hash_password,
)
from services.identity.handlers.session_tokens import start_session
from services.identity.handlers.users import acting_user
from shared.auth import SUB_ADMIN
from shared.ratelimit import DAY, HOUR, Limit

MAX_PAGE = 200


# -- who invites --------------------------------------------------------------------
async def inviter_for(ctx: Identity, company_id: str, actor_id: str) -> dict:
    """What every invitation by this administrator needs to say."""
    actor = await acting_user(ctx, company_id, actor_id)
    if not rules.is_master(actor["roles"]) and "users:invite" not in actor.get(
            "permissions", []):
        raise RoleNotAllowed("Your role does not allow inviting users.")
    company = await ctx.store.companies.get({"_id": company_id}) or {}
    return {"actor": actor, "company_id": company_id,
            "company_name": company.get("name", ""),
            "company_language": company.get("language", "en"),
            "name": f"{actor['first_name']} {actor['surname']}".strip()}


def _sent_event(ctx: Identity, doc: dict, token: str, inviter_name: str,
                company_name: str) -> dict:
    return ctx.event(events.INVITATION_SENT, events.InvitationSent(
        invitation_id=doc["_id"], company_id=doc["company_id"], company_name=company_name,
        email=doc["email"], role=doc["role"], language=doc["language"],
        invited_by_name=inviter_name, token=token, expires_at=doc["expires_at"]),
        subject=doc["_id"], company_id=doc["company_id"])


async def _open_invitation(ctx: Identity, company_id: str, email: str,
                           other_than: str) -> dict | None:
    docs = await ctx.store.invitations.collection.find(
        {"company_id": company_id, "email": email, "status": "pending"}).to_list(20)
    now = datetime.now(UTC)
    return next((d for d in docs if d["_id"] != other_than and inv.status_of(d, now)
                 == "pending"), None)


async def invite_once(ctx: Identity, inviter: dict, invitation_id: str, values: dict, *,
                      job_id: str | None = None, row: int | None = None) -> dict:
    """Create one invitation (or find the one this id already made) and send its link."""
    existing = await ctx.store.invitations.get({"_id": invitation_id,
                                                "company_id": inviter["company_id"]})
    if existing is not None:
        return existing
    email, role = normalise_email(values["email"]), values["role"]
    permissions = sorted(set(values.get("permissions") or []))
    rules.check_may_invite(inviter["actor"], role)
    # ID-12: only a company administrator invites a sub-administrator, whose invitation
    # carries the delegated permissions the invitee gets on accepting.
    rules.check_may_assign(inviter["actor"], role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")
    if await _has_account_in(ctx, email, inviter["company_id"]):
        raise EmailTaken("This address already has an account in your company.")
    if await _open_invitation(ctx, inviter["company_id"], email, invitation_id):
        raise InvitationPending("This address has an open invitation; send that one again "
                                "instead (POST /v1/invitations/{id}/resend).")
    token = new_token()
    now = datetime.now(UTC)
    expires = now + timedelta(days=ctx.settings.invitation_days)
    doc = {"_id": invitation_id, "company_id": inviter["company_id"], "email": email,
           "role": role, "permissions": permissions,
           "language": values.get("language") or inviter["company_language"],
           "first_name": values.get("first_name") or None,
           "surname": values.get("surname") or None, "status": "pending",
           "token_hash": token_hash(token), "expires_at": expires,
           "expires_ts": expires.timestamp(), "invited_by": inviter["actor"]["_id"],
           "parent_user_id": rules.parent_for(role, inviter["actor"]), "job_id": job_id,
           "row": row, "sent_count": 1, "created_at": now, "accepted_user_id": None,
           "accepted_at": None}
    if await create_once(ctx.store.invitations, doc, [_sent_event(
            ctx, doc, token, inviter["name"], inviter["company_name"])]):
        return doc
    return await ctx.store.invitations.get({"_id": invitation_id})


async def _has_account_in(ctx: Identity, email: str, company_id: str) -> bool:
    """Whether the address logs in an account of this company. An account elsewhere is not
    this company's business: the answer must not tell it apart from a free address."""
    claim = await ctx.store.logins.find_one({"_id": f"email:{email}"})
    if claim is None:
        return False
    return await ctx.store.users.get({"_id": claim["user_id"],
                                      "company_id": company_id}) is not None


def _sending_limits(ctx: Identity) -> list[Limit]:
    s = ctx.settings
    return [Limit("invitations-per-company-hour", s.invitations_per_company_per_hour, HOUR),
            Limit("invitations-per-company-day", s.invitations_per_company_per_day, DAY)]


@contextlib.asynccontextmanager
async def _sending(ctx: Identity, company_id: str):
    """One invitation email of the company's hourly and daily allowance; given back when
    nothing was sent."""
    limits = [(limit, company_id) for limit in _sending_limits(ctx)]
    await ctx.limits.check_all(limits, "Your company sent too many invitations for now; "
                               "try again later, or import a file for many people at once.")
    try:
        yield
    except BaseException:
        for limit, key in limits:
            await ctx.limits.give_back(limit, key)
        raise


async def invite(ctx: Identity, company_id: str, actor_id: str, values: dict) -> dict:
    """One address with a role (ID-11)."""
    inviter = await inviter_for(ctx, company_id, actor_id)
    async with _sending(ctx, company_id):
        return await invite_once(ctx, inviter, str(uuid.uuid4()), values)


async def invitation_in_company(ctx: Identity, company_id: str, invitation_id: str) -> dict:
    doc = await ctx.store.invitations.get({"_id": invitation_id, "company_id": company_id})
    if doc is None:
        raise InvitationNotFound("No invitation with this id in your company.")
    return doc


async def list_invitations(ctx: Identity, company_id: str, *, status: str | None = None,
                           job_id: str | None = None, after: str | None = None,
                           limit: int = 50) -> tuple[list[dict], str | None]:
    """The company's invitations with their status (pending, accepted, revoked, expired)."""
    query: dict = {"company_id": company_id}
    now = time.time()
    if status in ("pending", "expired"):
        query["status"] = "pending"
        query["expires_ts"] = {"$gt": now} if status == "pending" else {"$lte": now}
    elif status:
        query["status"] = status
    if job_id:
        query["job_id"] = job_id
    if after:
        query["_id"] = {"$gt": after}
    limit = max(1, min(limit, MAX_PAGE))
    docs = await ctx.store.invitations.collection.find(query).sort("_id", 1).limit(
        limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1]["_id"] if more else None)


async def resend(ctx: Identity, company_id: str, actor_id: str, invitation_id: str) -> dict:
    """A new link (valid ``invitation_days`` again); the previous link stops working."""
    inviter = await inviter_for(ctx, company_id, actor_id)
    doc = await invitation_in_company(ctx, company_id, invitation_id)
    rules.check_may_invite(inviter["actor"], doc["role"])
    token = new_token()
    expires = datetime.now(UTC) + timedelta(days=ctx.settings.invitation_days)

    def renew(d: dict) -> list:
        _check_open(d)
        d.update(token_hash=token_hash(token), expires_at=expires,
                 expires_ts=expires.timestamp(), sent_count=d.get("sent_count", 1) + 1)
        return [_sent_event(ctx, d, token, inviter["name"], inviter["company_name"])]
    async with _sending(ctx, company_id):
        return await ctx.store.invitations.change({"_id": invitation_id}, renew)


async def revoke(ctx: Identity, company_id: str, actor_id: str, invitation_id: str) -> dict:
    """Withdraw an invitation that was not accepted: its link stops working."""
    inviter = await inviter_for(ctx, company_id, actor_id)
    doc = await invitation_in_company(ctx, company_id, invitation_id)
    rules.check_may_invite(inviter["actor"], doc["role"])

    def withdraw(d: dict) -> list:
        if d["status"] == "revoked":
            return []
        _check_open(d)
        if d.get("accepting_user_id"):
            raise InvitationAccepted("The invitation is being accepted right now: the person "
                                     "is setting up the account.")
        d.update(status="revoked", revoked_at=datetime.now(UTC),
                 revoked_by=inviter["actor"]["_id"])
        return []
    return await ctx.store.invitations.change({"_id": invitation_id}, withdraw)


def _check_open(d: dict) -> None:
    if d["status"] == "accepted":
        raise InvitationAccepted("The invitation was accepted already: the person has an "
                                 "account.")
    if d["status"] == "revoked":
        raise InvitationRevoked("The invitation was withdrawn. Invite the address again.")


async def _unreserve(ctx: Identity, invitation_id: str) -> None:
    def release(d: dict) -> list:
        if d["status"] != "accepted":
            d["accepting_user_id"] = None
        return []
    await ctx.store.invitations.change({"_id": invitation_id}, release)


# -- the invitee --------------------------------------------------------------------
async def invitation_by_token(ctx: Identity, token: str) -> dict:
    """The invitation a link names, if it can still be accepted."""
    doc = await ctx.store.invitations.get({"token_hash": token_hash(token)})
    if doc is None:
        raise InvitationInvalid("The invitation link is not valid (or a newer one was sent). "
                                "Check that you copied all of it.")
    status = inv.status_of(doc)
    if status == "accepted":
        raise InvitationAccepted("You accepted this invitation already: log in.")
    if status == "revoked":
        raise InvitationRevoked("The administrator withdrew this invitation.")
    if status == "expired":
        raise InvitationExpired("The invitation has expired. Ask your administrator to send "
                                "it again.")
    return doc


async def accept(ctx: Identity, token: str, form: dict) -> dict:
    """Create the invitee's account (its id comes from the invitation, so sending the form
    again after a failure finishes the same account), then mark the invitation accepted."""
    doc = await invitation_by_token(ctx, token)
    company_id = doc["company_id"]
    policy = await company_policy(ctx, company_id)
    await check_new_password(form["password"], policy=policy)
    user_id = rules.user_id_for(f"invitation:{doc['_id']}")
    email = doc["email"]

    def reserve(d: dict) -> list:
        # Serialised with a withdrawal by the version check: whichever comes first wins.
        _check_open(d)
        d["accepting_user_id"] = user_id
        return []
    await ctx.store.invitations.change({"_id": doc["_id"]}, reserve)
    try:
        await claim_login(ctx, f"email:{email}", user_id)
    except EmailTaken:
        # Only the address's owner reads this; the inviting company sees a pending invitation.
        await _unreserve(ctx, doc["_id"])
        raise EmailTaken("This address already has an account, so the invitation can not be "
                         "accepted with it. Log in with that account, or ask the person who "
                         "invited you to invite another address.") from None
    except Exception:
        await _unreserve(ctx, doc["_id"])
        raise
    await claim_login(ctx, f"phone:{form['phone']}", user_id, required=False)
    user = {"_id": user_id, "company_id": company_id, "email": email,
            "emails": [{"address": email, "verified": True, "primary": True}],
            "username": None, "first_name": form["first_name"], "surname": form["surname"],
            "phone": form["phone"], "language": doc["language"], "roles": [doc["role"]],
            "permissions": list(doc.get("permissions", [])),
            "parent_user_id": doc.get("parent_user_id"),
            "status": "active", "password_hash": await hash_password(form["password"]),
            "password_history": [], "must_change_password": False,
            "created_at": datetime.now(UTC), "invitation_id": doc["_id"]}
    await create_once(ctx.store.users, user, [ctx.event(
        events.USER_ACTIVATED, events.UserActivated(
            user_id=user_id, company_id=company_id, email=email,
            first_name=user["first_name"], surname=user["surname"], roles=user["roles"],
            parent_user_id=user["parent_user_id"], language=user["language"]),
        subject=user_id, company_id=company_id)])

    def accepted(d: dict) -> list:
        if d["status"] == "accepted":
            return []
        d.update(status="accepted", accepted_user_id=user_id,
                 accepted_at=datetime.now(UTC))
        return [ctx.event(events.INVITATION_ACCEPTED, events.InvitationAccepted(
            invitation_id=d["_id"], company_id=company_id, user_id=user_id, email=email,
            role=d["role"]), subject=d["_id"], company_id=company_id)]
    await ctx.store.invitations.change({"_id": doc["_id"]}, accepted)
    stored = await ctx.store.users.get({"_id": user_id}) or user
    return {"user_id": user_id, "company_id": company_id,
            **await start_session(ctx, rules.User.from_document(stored), ["pwd"])}
