"""The user's own account: forgotten password (ID-8), password, username and contact details
(ID-9), first-login completion (ID-4); its email addresses (ID-10) are in ``login_emails``.

Step-up: what guards the account (the password, the username, a login email, the phone that
receives login codes) changes only with the current password in ``current_password``; a
wrong one counts as a failed login towards the account's lock. A new login phone receives
login codes only once confirmed with a code sent to it.

A password change is one write: the user's ``password_changed_at``. Refresh tokens, reset
links and reset codes issued before it are refused wherever they are used
(``changed_password_since``), so a stop right after that write leaves nothing an attacker
held usable; ending them in bulk afterwards only tidies up.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.commands import (
    ChangeContactDetails,
    ChangePassword,
    ChangeUsername,
    ConfirmPhone,
    RequestPasswordReset,
    ResetPassword,
    SendPasswordReset,
)
from services.identity.domain.errors import (
    CodeExpired,
    CodeIncorrect,
    CurrentPasswordWrong,
    LinkExpired,
    LinkInvalid,
    TooManyTries,
)
from services.identity.domain.password_resets import PasswordReset
from services.identity.domain.registration import normalise_email
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    company_policy,
    hash_password,
    login_domains,
    release_login,
    verify_password,
)

# The login's brute-force guard, so that guessing through these endpoints locks as a login does.
from services.identity.handlers.session_tokens import revoke_user_sessions
from services.identity.handlers.sessions import attempt_failed, attempt_succeeded, reserve_attempt
from services.identity.handlers.sms_limits import sms_per_company
from shared.errors import InvalidInput, NotFound
from shared.ratelimit import HOUR, Limit

PASSWORD_HISTORY_KEPT = 24


async def _user(ctx: Identity, user_id: str, company_id: str) -> User:
    user = await ctx.users.get(user_id, company_id=company_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def confirm_current_password(ctx: Identity, user: User, given: str | None) -> None:
    """Step-up: the current password, counted like a login attempt (a locked account gets
    the same answer as a wrong password)."""
    if not given:
        raise InvalidInput([{"field": "current_password", "rule": "required",
                             "message": "confirm this change with your current password"}])
    guarded = await reserve_attempt(ctx, user.id)
    ok = await verify_password(guarded.password_hash if guarded else None, given)
    if guarded is None or not ok:
        if guarded is not None:
            await attempt_failed(ctx, guarded)
        raise CurrentPasswordWrong(
            "The current password is not correct. After several wrong passwords the account "
            "is locked for a while.",
            errors=[{"field": "current_password", "rule": "matches_current_password",
                     "message": "the current password is not correct"}])
    await attempt_succeeded(ctx, guarded)


def password_history(user: User) -> list[str]:
    """The passwords a new one must differ from: the current one and the history."""
    return [*user.password_history, *([user.password_hash] if user.password_hash else [])]


async def _set_password(ctx: Identity, user: User, new_password: str, repeat: str) -> None:
    """Check the policy (with history and username) and store the new hash; the user's
    sessions end and a "password changed" email follows. The user write alone ends them
    (``User.password_changed_since``); the bulk updates after it only tidy up."""
    policy = await company_policy(ctx, user.company_id)
    await check_new_password(new_password, policy=policy, username=user.username,
                             history=password_history(user), repeat=repeat)
    new_hash = await hash_password(new_password)
    now = datetime.now(UTC)
    await ctx.users.change(user.id, lambda u: u.set_password(
        new_hash, now, history_kept=PASSWORD_HISTORY_KEPT))
    await revoke_user_sessions(ctx, user.id)
    await end_password_resets(ctx, user.id)


# -- ID-8 forgotten password ---------------------------------------------------------------------
# The request only takes the address's allowance and queues it (the same two writes whatever
# the address); identity's own consumer of PASSWORD_RESET_ASKED looks the address up and, for
# an active account, opens the link. So an unknown address can not be told by the answer's
# time. The queued document becomes the reset link itself: one write applies the event.
RESET_EMAILS = "password-reset-emails-per-address"
RESET_REQUESTS_PER_IP = "password-reset-requests-per-ip"


def reset_requests_per_ip(ctx: Identity) -> Limit:
    """One allowance per client IP for every kind of reset request (link by address, link by
    customer number, code): a 429 here tells nothing about any login id."""
    return Limit(RESET_REQUESTS_PER_IP, ctx.settings.password_reset_requests_per_ip_per_hour,
                 HOUR)


def queued_reset(ctx: Identity, request_id: str, **fields: Any) -> PasswordReset:
    """A queued reset request: its link or code works until ``valid_until``; the document
    itself, for known and unknown login ids alike, is removed by MongoDB at ``expires_at``
    (a TTL index), a while later so that a late click still hears "expired"."""
    s = ctx.settings
    return PasswordReset.queue(
        request_id, now=datetime.now(UTC), asked_at=time.time(),
        valid_for=timedelta(minutes=s.password_reset_minutes),
        kept_for=timedelta(hours=s.password_reset_kept_hours), **fields)


async def request_password_reset(cmd: RequestPasswordReset, identity: Identity) -> None:
    """Same answer, and the same work, for known and unknown addresses."""
    await identity.limits.check(reset_requests_per_ip(identity), cmd.client_ip,
                           "Too many password requests came from here. Try again later.")
    address = normalise_email(cmd.email)
    limit = Limit(RESET_EMAILS, identity.settings.password_reset_emails_per_hour, HOUR)
    if not await identity.limits.take(limit, address):
        return  # silent: the same 202, nothing sent; the refusal is counted in /metrics
    request_id = uuid.uuid4().hex
    reset = queued_reset(identity, request_id)
    reset.record(events.PASSWORD_RESET_ASKED, events.PasswordResetAsked(
        request_id=request_id, email=address))
    await identity.password_resets.create(reset)


async def send_password_reset(cmd: SendPasswordReset, identity: Identity) -> None:
    """The queued request resolved: an active account gets a link (and every older open
    link of it ends); any other address gets nothing."""
    owner = await identity.login_ids.owner(f"email:{normalise_email(cmd.email)}")
    user = await identity.users.get(owner) if owner else None
    token = codes.new_token()

    def resolve(reset: PasswordReset) -> None:
        if reset.status != "queued":
            return
        if user is None or user.status != "active":
            reset.nothing_sent("no_account")
            return
        reset.send_link(user, token=token, token_hash=codes.token_hash(token))
    saved = await identity.password_resets.change(cmd.request_id, resolve,
                                              applied_event=cmd.event_id)
    if saved is not None and saved.status == "open" and saved.user_id:
        await end_password_resets(identity, saved.user_id, before=saved.asked_at)


async def end_password_resets(ctx: Identity, user_id: str,
                              before: float | None = None) -> None:
    """Every open reset link of the user (asked for before ``before``) stops working."""
    await ctx.password_resets.end_open(user_id, before=before)


async def reset_password(cmd: ResetPassword, identity: Identity) -> None:
    """A reset link works once, until it expires, only while it is the newest one and while
    the password was not changed since it was asked for."""
    new_password, repeat = cmd.new_password, cmd.new_password_repeat
    reset = await identity.password_resets.by_token_hash(codes.token_hash(cmd.token))
    if reset is None or reset.status != "open":
        raise LinkInvalid("The link is not valid or was used already. Ask for a new one.")
    if reset.works_until <= datetime.now(UTC):
        raise LinkExpired("The link has expired. Ask for a new one.")
    # Imported here: that module builds on this one's reset links (seed 004).
    from services.identity.handlers import customer_number_access
    if reset.opens_account:
        await customer_number_access.open_holder_account(identity, reset, new_password, repeat)
        return
    user = await identity.users.get(reset.user_id) if reset.user_id else None
    if user is None or user.password_changed_since(reset.asked_at):
        raise LinkInvalid("The link is not valid. Ask for a new one.")
    policy = await company_policy(identity, user.company_id)
    await check_new_password(new_password, policy=policy, username=user.username,
                             history=password_history(user), repeat=repeat)
    if not await identity.password_resets.use(reset.id):
        raise LinkInvalid("The link was used already. Ask for a new one.")
    await _set_password(identity, user, new_password, repeat)


# -- ID-9 ------------------------------------------------------------------------------------------
async def change_password(cmd: ChangePassword, identity: Identity) -> None:
    user = await _user(identity, cmd.user_id, cmd.company_id)
    await confirm_current_password(identity, user, cmd.current_password)
    await _set_password(identity, user, cmd.new_password, cmd.new_password_repeat)


async def change_username(cmd: ChangeUsername, identity: Identity) -> None:
    user_id, company_id = cmd.user_id, cmd.company_id
    user = await _user(identity, user_id, company_id)
    await confirm_current_password(identity, user, cmd.current_password)
    # ID-14: name@handle only with the company's own login domain.
    username = await login_domains.check_username(identity, company_id, cmd.username, user.roles)
    new_key = f"username:{username.lower()}"
    await claim_login(identity, new_key, user_id)
    old = user.username
    await identity.users.change(user_id, lambda u: u.change_username(username))
    if old and old.lower() != username.lower():
        await release_login(identity, f"username:{old.lower()}", user_id)


async def change_contact_details(cmd: ChangeContactDetails, identity: Identity) -> User:
    """Phone and language; first name and surname can not be changed (ID-9). A new phone
    needs the current password and is only proposed: a code goes to it (see confirm_phone)."""
    user_id, company_id, language = cmd.user_id, cmd.company_id, cmd.language
    user = await _user(identity, user_id, company_id)
    if cmd.phone is not None and cmd.phone != user.phone:
        await confirm_current_password(identity, user, cmd.current_password)
        await _propose_phone(identity, user, cmd.phone)
    if language is not None:
        def apply(u: User) -> None:
            u.language = language
        await identity.users.change(user_id, apply)
    return await _user(identity, user_id, company_id)


def _phone_code_hash(ctx: Identity, user_id: str, phone: str, code: str) -> str:
    return codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                           f"phone:{user_id}:{phone}", code)


async def _propose_phone(ctx: Identity, user: User, phone: str) -> None:
    """The new number gets a code; until it is confirmed, login codes go to the old one.
    Each code is an SMS to a number the caller chose: counted per user (a few new numbers an
    hour), per number and in the company's SMS allowance (with reset codes)."""
    s = ctx.settings
    await ctx.limits.check_all(
        [(Limit("phone-changes-per-user", s.phone_changes_per_user_per_hour, HOUR), user.id),
         (Limit("phone-verification-codes-per-phone", s.sms_per_phone_per_hour, HOUR), phone),
         (sms_per_company(ctx), user.company_id)],
        "Too many codes were sent to new phone numbers. Try again later.")
    code = codes.new_numeric_code()
    expires = time.time() + s.phone_verification_seconds

    await ctx.users.change(user.id, lambda u: u.propose_phone(
        phone, code=code, code_hash=_phone_code_hash(ctx, u.id, phone, code), expires=expires))


async def confirm_phone(cmd: ConfirmPhone, identity: Identity) -> User:
    """The code sent to the new phone makes it the login phone: at most N tries, valid a few
    minutes; the old phone and the primary address get a notice."""
    user_id, company_id = cmd.user_id, cmd.company_id
    limit = identity.settings.phone_verification_tries

    def count(u: User) -> None:
        if u.pending_phone is None:
            raise NotFound("No new phone number is waiting for a code.", slug="no-phone-change")
        if u.pending_phone.tries >= limit:
            raise TooManyTries("Too many wrong codes. Enter the new number again to get a new "
                               "code.")
        u.pending_phone.tries += 1
    # The try is counted before the code is compared, in a versioned write: parallel guesses
    # can not get more tries than the limit.
    counted = await identity.users.change(user_id, count, company_id=company_id)
    if counted is None or counted.pending_phone is None:
        raise NotFound("No such user.")
    pending = counted.pending_phone
    given = _phone_code_hash(identity, user_id, pending.phone, cmd.code)
    if not codes.same_hash(pending.code_hash, given):
        raise CodeIncorrect(tries_left=limit - pending.tries)
    if pending.expires < time.time():
        raise CodeExpired("Enter the new number again to get a new code.")
    new = pending.phone
    await claim_login(identity, f"phone:{new}", user_id, required=False)
    old: list[str | None] = []

    def switch(u: User) -> None:
        old.append(u.confirm_phone(pending.code_hash, datetime.now(UTC)))
    saved = await identity.users.change(user_id, switch)
    if old and old[-1] and old[-1] != new:
        await release_login(identity, f"phone:{old[-1]}", user_id)
    if saved is None:
        raise NotFound("No such user.")
    return saved
