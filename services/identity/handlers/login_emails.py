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

from services.identity.domain import secrets as codes
from services.identity.domain.commands import AddEmail, DeleteEmail, MakeEmailPrimary, VerifyEmail
from services.identity.domain.email_verifications import EmailVerification
from services.identity.domain.errors import (
    EmailNotFound,
    EmailTaken,
    LinkExpired,
    LinkInvalid,
    PrimaryEmailDeletion,
)
from services.identity.domain.registration import normalise_email
from services.identity.domain.users import User
from services.identity.handlers import Identity, claim_login, release_login
from services.identity.handlers.account import _user, confirm_current_password
from shared.errors import Conflict, InvalidInput
from shared.ratelimit import HOUR, Limit

ADDED_PER_USER = "login-emails-per-user"
SENT_PER_ADDRESS = "verification-emails-per-address"


class TooManyUnverifiedEmails(Conflict):
    slug, title = "too-many-unverified-emails", "Too many addresses wait for verification"


async def add_email(cmd: AddEmail, identity: Identity) -> None:
    """Add an address as secondary and send it a verification link; an address added before
    and not verified yet gets a new link (its old one may have expired)."""
    s = identity.settings
    user_id, company_id = cmd.user_id, cmd.company_id
    address = normalise_email(cmd.address)
    user = await _user(identity, user_id, company_id)
    await confirm_current_password(identity, user, cmd.current_password)
    entry = user.address(address)
    if entry is not None and entry.verified:
        raise InvalidInput([{"field": "email", "rule": "already_added",
                             "message": "this address is already on the account"}])
    unverified = user.unverified_addresses()
    if entry is None and len(unverified) >= s.unverified_emails_per_user:
        raise TooManyUnverifiedEmails(
            f"The account has {len(unverified)} addresses waiting for verification (at most "
            f"{s.unverified_emails_per_user}): verify one with the link sent to it, or delete "
            "one (DELETE /v1/me/emails/{address}), then add the new one.",
            unverified=unverified, limit=s.unverified_emails_per_user)
    # The address becomes a login id only once verified: adding someone else's address
    # must not block their registration or invitation.
    taken = await identity.login_ids.owner(f"email:{address}")
    if taken is not None and taken != user_id:
        raise EmailTaken("Use another address.")
    await identity.limits.check_all(
        [(Limit(ADDED_PER_USER, s.login_emails_per_user_per_hour, HOUR), user_id),
         (Limit(SENT_PER_ADDRESS, s.verification_emails_per_address_per_hour, HOUR), address)],
        "Too many email addresses were added, or too many verification emails went to this "
        "address, in the last hour. Try again later.")
    token = codes.new_token()
    expires = datetime.now(UTC) + timedelta(hours=s.email_verification_hours)

    def apply(u: User) -> None:
        if u.address(address) is not None:
            return
        if len(u.unverified_addresses()) >= s.unverified_emails_per_user:
            # A parallel addition took the last place.
            raise TooManyUnverifiedEmails("Too many addresses wait for verification.",
                                          limit=s.unverified_emails_per_user)
        u.add_address(address)
    await identity.users.change(user_id, apply)
    await identity.email_verifications.create(EmailVerification.send(
        token=token, token_hash=codes.token_hash(token), user_id=user_id,
        company_id=company_id, address=address, old_email=user.email,
        language=user.language, expires_at=expires))


async def verify_email(cmd: VerifyEmail, identity: Identity) -> str:
    h = codes.token_hash(cmd.token)
    link = await identity.email_verifications.get(h)
    if link is None or link.status != "open":
        raise LinkInvalid("The link is not valid or was used already.")
    if link.expires_at <= datetime.now(UTC):
        raise LinkExpired("The link has expired. Add the address again.")
    await claim_login(identity, f"email:{link.address}", link.user_id)
    if not await identity.email_verifications.use(h):
        raise LinkInvalid("The link was used already.")
    await identity.users.change(link.user_id, lambda u: u.address_verified(link.address))
    return link.address


async def make_primary(cmd: MakeEmailPrimary, identity: Identity) -> None:
    """A verified address becomes the primary one; the old one gets a notice (ID-10)."""
    address = normalise_email(cmd.address)
    user = await _user(identity, cmd.user_id, cmd.company_id)
    entry = user.address(address)
    if entry is None:
        raise EmailNotFound("This address is not on the account.")
    if not entry.verified:
        raise InvalidInput([{"field": "email", "rule": "not_verified",
                             "message": "verify the address with the link sent to it first"}])
    if entry.primary:
        return
    await identity.users.change(cmd.user_id, lambda u: u.make_primary(address))


async def delete_email(cmd: DeleteEmail, identity: Identity) -> None:
    user_id = cmd.user_id
    address = normalise_email(cmd.address)
    user = await _user(identity, user_id, cmd.company_id)
    entry = user.address(address)
    if entry is None:
        raise EmailNotFound("This address is not on the account.")
    if entry.primary:
        raise PrimaryEmailDeletion("Make another address primary first.")
    await identity.users.change(user_id, lambda u: u.remove_address(address))
    await release_login(identity, f"email:{address}", user_id)
