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

from pymongo import ReturnDocument

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.errors import (
    CodeExpired,
    CurrentPasswordWrong,
    LinkExpired,
    LinkInvalid,
    TooManyTries,
)
from services.identity.domain.registration import normalise_email
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


def _user_event(ctx: Identity, spec, data) -> dict:
    return ctx.event(spec, data, subject=data.user_id, company_id=data.company_id)


async def _user(ctx: Identity, user_id: str, company_id: str) -> dict:
    user = await ctx.store.users.get({"_id": user_id, "company_id": company_id})
    if user is None:
        raise NotFound("No such user.")
    return user


async def confirm_current_password(ctx: Identity, user: dict, given: str | None) -> None:
    """Step-up: the current password, counted like a login attempt (a locked account gets
    the same answer as a wrong password)."""
    if not given:
        raise InvalidInput([{"field": "current_password", "rule": "required",
                             "message": "confirm this change with your current password"}])
    guarded = await reserve_attempt(ctx, user["_id"])
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


def changed_password_since(user: dict, issued_at: datetime | float) -> bool:
    """Whether the user's password changed at or after ``issued_at`` (a datetime or epoch
    seconds): what was issued before then (a refresh token, a reset link or code) is refused.
    At or after: stored datetimes keep milliseconds, and nothing issued in the same
    millisecond as a password change is newer than it."""
    changed = user.get("password_changed_at")
    if changed is None:
        return False
    issued = issued_at.timestamp() if isinstance(issued_at, datetime) else issued_at
    return issued <= changed.timestamp()


async def _set_password(ctx: Identity, user: dict, new_password: str, repeat: str) -> None:
    """Check the policy (with history and username) and store the new hash; the user's
    sessions end and a "password changed" email follows. The user write alone ends them
    (``changed_password_since``); the bulk updates after it only tidy up."""
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
    await end_password_resets(ctx, user["_id"])


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


def new_reset(ctx: Identity, request_id: str, **fields) -> dict:
    """A queued reset request: its link or code works until ``valid_until``; the document
    itself, for known and unknown login ids alike, is removed by MongoDB at ``expires_at``
    (a TTL index), a while later so that a late click still hears "expired"."""
    s = ctx.settings
    now = datetime.now(UTC)
    until = now + timedelta(minutes=s.password_reset_minutes)
    return {"_id": request_id, "status": "queued", "created_at": now, "asked_at": time.time(),
            "valid_until": until,
            "expires_at": until + timedelta(hours=s.password_reset_kept_hours),
            **fields}


def valid_until(reset: dict) -> datetime:
    """Until when a reset's link or code works (documents stored before ``valid_until``
    existed kept it in ``expires_at``)."""
    return reset.get("valid_until") or reset["expires_at"]


async def request_password_reset(ctx: Identity, email: str, client_ip: str) -> None:
    """Same answer, and the same work, for known and unknown addresses."""
    await ctx.limits.check(reset_requests_per_ip(ctx), client_ip,
                           "Too many password requests came from here. Try again later.")
    address = normalise_email(email)
    limit = Limit(RESET_EMAILS, ctx.settings.password_reset_emails_per_hour, HOUR)
    if not await ctx.limits.take(limit, address):
        return  # silent: the same 202, nothing sent; the refusal is counted in /metrics
    request_id = uuid.uuid4().hex
    await ctx.store.password_resets.create(
        new_reset(ctx, request_id),
        [ctx.event(events.PASSWORD_RESET_ASKED, events.PasswordResetAsked(
            request_id=request_id, email=address), subject=request_id)])


async def send_password_reset(ctx: Identity, event_id: str, request_id: str,
                              email: str) -> None:
    """The queued request resolved: an active account gets a link (and every older open
    link of it ends); any other address gets nothing."""
    claim = await ctx.store.logins.find_one({"_id": f"email:{normalise_email(email)}"})
    user = await ctx.store.users.get({"_id": claim["user_id"]}) if claim else None
    token = codes.new_token()

    def resolve(doc: dict) -> list:
        if doc["status"] != "queued":
            return []
        if user is None or user["status"] != "active":
            doc["status"] = "no_account"
            return []
        doc.update(status="open", token_hash=codes.token_hash(token), user_id=user["_id"],
                   company_id=user["company_id"])
        return [_user_event(ctx, events.PASSWORD_RESET_REQUESTED, events.PasswordResetRequested(
            user_id=user["_id"], company_id=user["company_id"], email=user["email"],
            language=user.get("language", "en"), token=token,
            expires_at=valid_until(doc)))]
    saved = await ctx.store.password_resets.change({"_id": request_id}, resolve,
                                                   applied_event=event_id)
    if saved is not None and saved["status"] == "open":
        await end_password_resets(ctx, saved["user_id"], before=saved["asked_at"])


async def end_password_resets(ctx: Identity, user_id: str,
                              before: float | None = None) -> None:
    """Every open reset link of the user (asked for before ``before``) stops working."""
    query: dict = {"user_id": user_id, "status": "open"}
    if before is not None:
        # A number, not a datetime: the emulator compares numbers reliably.
        query["asked_at"] = {"$lt": before}
    await ctx.store.password_resets.collection.update_many(
        query, {"$set": {"status": "ended"}, "$inc": {"version": 1}})


async def reset_password(ctx: Identity, token: str, new_password: str, repeat: str) -> None:
    """A reset link works once, until it expires, only while it is the newest one and while
    the password was not changed since it was asked for."""
    reset = await ctx.store.password_resets.get({"token_hash": codes.token_hash(token)})
    if reset is None or reset["status"] != "open":
        raise LinkInvalid("The link is not valid or was used already. Ask for a new one.")
    if valid_until(reset) <= datetime.now(UTC):
        raise LinkExpired("The link has expired. Ask for a new one.")
    # Imported here: that module builds on this one's reset links (seed 004).
    from services.identity.handlers import customer_number_access
    if customer_number_access.opens_account(reset):
        await customer_number_access.open_holder_account(ctx, reset, new_password, repeat)
        return
    user = await ctx.store.users.get({"_id": reset["user_id"]})
    if user is None or changed_password_since(user, reset["asked_at"]):
        raise LinkInvalid("The link is not valid. Ask for a new one.")
    policy = await company_policy(ctx, user["company_id"])
    await check_new_password(new_password, policy=policy, username=user.get("username"),
                             history=[*user.get("password_history", []),
                                      user["password_hash"]], repeat=repeat)
    used = await ctx.store.password_resets.collection.find_one_and_update(
        {"_id": reset["_id"], "status": "open"},
        {"$set": {"status": "used"}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    if used is None:
        raise LinkInvalid("The link was used already. Ask for a new one.")
    await _set_password(ctx, user, new_password, repeat)


# -- ID-9 ------------------------------------------------------------------------------------------
async def change_password(ctx: Identity, user_id: str, company_id: str, current: str,
                          new_password: str, repeat: str) -> None:
    user = await _user(ctx, user_id, company_id)
    await confirm_current_password(ctx, user, current)
    await _set_password(ctx, user, new_password, repeat)


async def change_username(ctx: Identity, user_id: str, company_id: str, username: str,
                          password: str) -> None:
    user = await _user(ctx, user_id, company_id)
    await confirm_current_password(ctx, user, password)
    # ID-14: name@handle only with the company's own login domain.
    username = await login_domains.check_username(ctx, company_id, username, user["roles"])
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
                                 changes: dict, current_password: str | None = None) -> dict:
    """Phone and language; first name and surname can not be changed (ID-9). A new phone
    needs the current password and is only proposed: a code goes to it (see confirm_phone)."""
    user = await _user(ctx, user_id, company_id)
    phone = changes.pop("phone", None)
    if phone is not None and phone != user.get("phone"):
        await confirm_current_password(ctx, user, current_password)
        await _propose_phone(ctx, user, phone)
    if changes:
        def apply(doc: dict) -> list:
            doc.update(changes)
            return []
        await ctx.store.users.change({"_id": user_id}, apply)
    return await _user(ctx, user_id, company_id)


def _phone_code_hash(ctx: Identity, user_id: str, phone: str, code: str) -> str:
    return codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                           f"phone:{user_id}:{phone}", code)


async def _propose_phone(ctx: Identity, user: dict, phone: str) -> None:
    """The new number gets a code; until it is confirmed, login codes go to the old one.
    Each code is an SMS to a number the caller chose: counted per user (a few new numbers an
    hour), per number and in the company's SMS allowance (with reset codes)."""
    s = ctx.settings
    await ctx.limits.check_all(
        [(Limit("phone-changes-per-user", s.phone_changes_per_user_per_hour, HOUR), user["_id"]),
         (Limit("phone-verification-codes-per-phone", s.sms_per_phone_per_hour, HOUR), phone),
         (sms_per_company(ctx), user["company_id"])],
        "Too many codes were sent to new phone numbers. Try again later.")
    code = codes.new_numeric_code()
    expires = time.time() + s.phone_verification_seconds

    def apply(doc: dict) -> list:
        doc["pending_phone"] = {"phone": phone, "expires": expires, "tries": 0,
                                "code_hash": _phone_code_hash(ctx, doc["_id"], phone, code)}
        return [_user_event(ctx, events.PHONE_VERIFICATION_REQUESTED,
                            events.PhoneVerificationRequested(
                                user_id=doc["_id"], company_id=doc["company_id"], phone=phone,
                                language=doc.get("language", "en"), code=code,
                                expires_at=datetime.fromtimestamp(expires, UTC)))]
    await ctx.store.users.change({"_id": user["_id"]}, apply)


async def confirm_phone(ctx: Identity, user_id: str, company_id: str, code: str) -> dict:
    """The code sent to the new phone makes it the login phone: at most N tries, valid a few
    minutes; the old phone and the primary address get a notice."""
    limit = ctx.settings.phone_verification_tries

    def count(doc: dict) -> list:
        pending = doc.get("pending_phone")
        if not pending:
            raise NotFound("No new phone number is waiting for a code.", slug="no-phone-change")
        if pending["tries"] >= limit:
            raise TooManyTries("Too many wrong codes. Enter the new number again to get a new "
                               "code.")
        pending["tries"] += 1
        return []
    # The try is counted before the code is compared, in a versioned write: parallel guesses
    # can not get more tries than the limit.
    counted = await ctx.store.users.change({"_id": user_id, "company_id": company_id}, count)
    if counted is None:
        raise NotFound("No such user.")
    pending = counted["pending_phone"]
    given = _phone_code_hash(ctx, user_id, pending["phone"], code)
    if not codes.same_hash(pending["code_hash"], given):
        raise InvalidInput([{"field": "code", "rule": "matches_sent_code",
                             "message": "the code is not correct"}],
                           slug="code-invalid", tries_left=limit - pending["tries"])
    if pending["expires"] < time.time():
        raise CodeExpired("Enter the new number again to get a new code.")
    new = pending["phone"]
    await claim_login(ctx, f"phone:{new}", user_id, required=False)
    old: list[str | None] = []

    def switch(doc: dict) -> list:
        current = doc.get("pending_phone")
        if not current or current["code_hash"] != pending["code_hash"]:
            raise CodeExpired("A newer code was sent; enter that one.")
        old.append(doc.get("phone"))
        doc["phone"] = new
        del doc["pending_phone"]
        return [_user_event(ctx, events.PHONE_CHANGED, events.PhoneChanged(
            user_id=doc["_id"], company_id=doc["company_id"], email=doc["email"],
            old_phone=old[-1], new_phone=new, language=doc.get("language", "en"),
            changed_at=datetime.now(UTC)))]
    saved = await ctx.store.users.change({"_id": user_id}, switch)
    if old and old[-1] and old[-1] != new:
        await release_login(ctx, f"phone:{old[-1]}", user_id)
    return saved
