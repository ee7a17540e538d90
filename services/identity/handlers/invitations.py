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
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from services.identity.domain import users as rules
from services.identity.domain.commands import (
    AcceptInvitation,
    CheckInvitationLink,
    Invite,
    ReadInvitation,
    ResendInvitation,
    RevokeInvitation,
)
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
from services.identity.domain.invitations import Invitation, Inviter, Link, new_link
from services.identity.domain.registration import normalise_email
from services.identity.domain.secrets import new_token, token_hash
from services.identity.domain.sessions import NewAccountLoggedIn
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    company_policy,
    hash_password,
)
from services.identity.handlers.session_tokens import start_session
from services.identity.handlers.users import acting_user
from shared.auth import SUB_ADMIN
from shared.ratelimit import DAY, HOUR, Limit


# -- who invites --------------------------------------------------------------------
async def inviter_for(ctx: Identity, company_id: str, actor_id: str) -> Inviter:
    """What every invitation by this administrator needs to say."""
    actor = await acting_user(ctx, company_id, actor_id)
    if not actor.is_master and "users:invite" not in actor.permissions:
        raise RoleNotAllowed("Your role does not allow inviting users.")
    company = await ctx.companies.get(company_id)
    return Inviter(actor=actor, company_id=company_id,
                   company_name=company.name if company else "",
                   company_language=company.language if company else "en")


def _link(ctx: Identity) -> Link:
    """A new link (its token travels in the event the invitation records)."""
    token = new_token()
    return new_link(token, token_hash(token), datetime.now(UTC), ctx.settings.invitation_days)


async def _open_invitation(ctx: Identity, company_id: str, email: str,
                           other_than: str) -> Invitation | None:
    now = datetime.now(UTC)
    return next((i for i in await ctx.invitations.pending_for(company_id, email)
                 if i.id != other_than and i.status_at(now) == "pending"), None)


async def invite_once(ctx: Identity, inviter: Inviter, invitation_id: str, cmd: Invite, *,
                      job_id: str | None = None, row: int | None = None) -> Invitation:
    """Create one invitation (or find the one this id already made) and send its link."""
    existing = await ctx.invitations.get(invitation_id, company_id=inviter.company_id)
    if existing is not None:
        return existing
    email, role = normalise_email(cmd.email), cmd.role
    permissions = sorted(set(cmd.permissions))
    rules.check_may_invite(inviter.actor, role)
    # ID-12: only a company administrator invites a sub-administrator, whose invitation
    # carries the delegated permissions the invitee gets on accepting.
    rules.check_may_assign(inviter.actor, role, permissions)
    if permissions and role != SUB_ADMIN:
        raise UserStatusConflict("Delegated permissions are for sub-administrators only.",
                                 slug="permissions-need-sub-admin")
    if await _has_account_in(ctx, email, inviter.company_id):
        raise EmailTaken("This address already has an account in your company.")
    if await _open_invitation(ctx, inviter.company_id, email, invitation_id):
        raise InvitationPending("This address has an open invitation; send that one again "
                                "instead (POST /v1/invitations/{id}/resend).")
    link = _link(ctx)
    invitation = Invitation.new(
        invitation_id=invitation_id, inviter=inviter, email=email, role=role,
        permissions=permissions, language=cmd.language, first_name=cmd.first_name,
        surname=cmd.surname,
        parent_user_id=rules.parent_for(role, inviter.actor), link=link,
        now=datetime.now(UTC), job_id=job_id, row=row)
    if await ctx.invitations.create(invitation):
        return invitation
    # Another try of the same cause made it first.
    return await ctx.invitations.get(invitation_id) or invitation


async def _has_account_in(ctx: Identity, email: str, company_id: str) -> bool:
    """Whether the address logs in an account of this company. An account elsewhere is not
    this company's business: the answer must not tell it apart from a free address."""
    user_id = await ctx.login_ids.owner(f"email:{email}")
    if user_id is None:
        return False
    return await ctx.users.get(user_id, company_id=company_id) is not None


def _sending_limits(ctx: Identity) -> list[Limit]:
    s = ctx.settings
    return [Limit("invitations-per-company-hour", s.invitations_per_company_per_hour, HOUR),
            Limit("invitations-per-company-day", s.invitations_per_company_per_day, DAY)]


@contextlib.asynccontextmanager
async def _sending(ctx: Identity, company_id: str) -> AsyncIterator[None]:
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


async def invite(cmd: Invite, ctx: Identity) -> Invitation:
    """One address with a role (ID-11)."""
    inviter = await inviter_for(ctx, cmd.company_id, cmd.actor_id)
    async with _sending(ctx, cmd.company_id):
        return await invite_once(ctx, inviter, str(uuid.uuid4()), cmd)


async def invitation_in_company(cmd: ReadInvitation, ctx: Identity) -> Invitation:
    invitation = await ctx.invitations.get(cmd.invitation_id, company_id=cmd.company_id)
    if invitation is None:
        raise InvitationNotFound("No invitation with this id in your company.")
    return invitation


async def _changed(ctx: Identity, invitation_id: str,
                   change: Callable[[Invitation], None]) -> Invitation:
    saved = await ctx.invitations.change(invitation_id, change)
    if saved is None:  # only a document removed by hand disappears
        raise InvitationNotFound("No invitation with this id in your company.")
    return saved


async def resend(cmd: ResendInvitation, ctx: Identity) -> Invitation:
    """A new link (valid ``invitation_days`` again); the previous link stops working."""
    inviter = await inviter_for(ctx, cmd.company_id, cmd.actor_id)
    invitation = await invitation_in_company(
        ReadInvitation(cmd.company_id, cmd.invitation_id), ctx)
    rules.check_may_invite(inviter.actor, invitation.role)
    link = _link(ctx)
    async with _sending(ctx, cmd.company_id):
        return await _changed(ctx, invitation.id, lambda i: i.resend(link, inviter))


async def revoke(cmd: RevokeInvitation, ctx: Identity) -> Invitation:
    """Withdraw an invitation that was not accepted: its link stops working."""
    inviter = await inviter_for(ctx, cmd.company_id, cmd.actor_id)
    invitation = await invitation_in_company(
        ReadInvitation(cmd.company_id, cmd.invitation_id), ctx)
    rules.check_may_invite(inviter.actor, invitation.role)
    return await _changed(ctx, invitation.id,
                          lambda i: i.revoke(inviter.actor_id, datetime.now(UTC)))


# -- the invitee --------------------------------------------------------------------
async def invitation_by_token(cmd: CheckInvitationLink, ctx: Identity) -> Invitation:
    """The invitation a link names, if it can still be accepted."""
    invitation = await ctx.invitations.by_token_hash(token_hash(cmd.token))
    if invitation is None:
        raise InvitationInvalid("The invitation link is not valid (or a newer one was sent). "
                                "Check that you copied all of it.")
    status = invitation.status_at()
    if status == "accepted":
        raise InvitationAccepted("You accepted this invitation already: log in.")
    if status == "revoked":
        raise InvitationRevoked("The administrator withdrew this invitation.")
    if status == "expired":
        raise InvitationExpired("The invitation has expired. Ask your administrator to send "
                                "it again.")
    return invitation


async def accept(cmd: AcceptInvitation, ctx: Identity) -> NewAccountLoggedIn:
    """Create the invitee's account (its id comes from the invitation, so sending the form
    again after a failure finishes the same account), then mark the invitation accepted."""
    invitation = await invitation_by_token(CheckInvitationLink(cmd.token), ctx)
    company_id = invitation.company_id
    policy = await company_policy(ctx, company_id)
    await check_new_password(cmd.password, policy=policy)
    user_id = rules.user_id_for(f"invitation:{invitation.id}")
    email = invitation.email
    await _changed(ctx, invitation.id, lambda i: i.reserve(user_id))
    try:
        await claim_login(ctx, f"email:{email}", user_id)
    except EmailTaken:
        # Only the address's owner reads this; the inviting company sees a pending invitation.
        await _changed(ctx, invitation.id, Invitation.unreserve)
        raise EmailTaken("This address already has an account, so the invitation can not be "
                         "accepted with it. Log in with that account, or ask the person who "
                         "invited you to invite another address.") from None
    except Exception:
        await _changed(ctx, invitation.id, Invitation.unreserve)
        raise
    await claim_login(ctx, f"phone:{cmd.phone}", user_id, required=False)
    user = User.new(user_id=user_id, company_id=company_id, email=email, email_verified=True,
                    username=None, first_name=cmd.first_name, surname=cmd.surname,
                    phone=cmd.phone, language=invitation.language, role=invitation.role,
                    permissions=invitation.permissions,
                    parent_user_id=invitation.parent_user_id, status="active",
                    password_hash=await hash_password(cmd.password),
                    now=datetime.now(UTC), invitation_id=invitation.id)
    user.activated()
    await ctx.users.create(user)
    await _changed(ctx, invitation.id, lambda i: i.accept(user_id, datetime.now(UTC)))
    stored = await ctx.users.get(user_id) or user
    return NewAccountLoggedIn(user_id=user_id, company_id=company_id,
                              login=await start_session(ctx, stored, ["pwd"]))
