"""Logging in and staying logged in: password (ID-4, ID-14), SMS second factor (ID-5), mobile
number + SMS (ID-6), refresh tokens and logout (internal clients' tokens: clients.py).

Unknown login ids, wrong passwords, locked and deactivated accounts all get the same answer
and cost the same time.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.errors import (
    CodeExpired,
    LoginFailed,
    RefreshTokenInvalid,
    SecondFactorFailed,
    TooManyTries,
)
from services.identity.domain.registration import normalise_email
from services.identity.handlers import (
    Identity,
    company_settings,
    customer_numbers,
    sms_limits,
    verify_password,
)

# Kept under their old names for the reset codes' SMS allowances.
from services.identity.handlers.sms_limits import sms_per_company as _sms_per_company  # noqa: F401
from services.identity.handlers.sms_limits import sms_per_phone as _sms_per_phone
from services.identity.tokens import access_token
from shared.auth import DEFAULT_PHONE_LOGIN_PERMISSIONS, PHONE_LOGIN_PERMISSIONS
from shared.errors import TooManyRequests

HOUR = 3600.0


def login_keys(login: str) -> list[str]:
    """The claims a login id may match: an email address, a username (``name@company``
    included, ID-14), or a mobile number."""
    login = login.strip()
    keys = []
    if "@" in login:
        keys.append(f"email:{normalise_email(login)}")
    keys.append(f"username:{login.lower()}")
    return keys


async def find_user_id_by_login(ctx: Identity, login: str) -> str | None:
    if "@" not in login:
        # Seed 004: a contract holder's customer number logs in the holder's account. Looked
        # up before usernames, so nobody can take a holder's number as username and lock the
        # holder out with wrong passwords.
        holder = await customer_numbers.login_user_id(ctx, login.strip())
        if holder is not None:
            return holder
    for key in login_keys(login):
        claim = await ctx.store.logins.find_one({"_id": key})
        if claim is not None:
            return claim["user_id"]
    return None


# -- brute force -------------------------------------------------------------------------------
# The guard lives on the user document: consecutive failures (locked once they reach the
# limit) and failures in the current hour. An attempt is taken before the password is
# checked, in the same atomic write that reads the user, so parallel guesses can never get
# more checks than the limit allows.

async def _reserve_attempt(ctx: Identity, user_id: str) -> dict | None:
    """Take one password attempt; the user document (its ``login_failures`` counting this
    attempt), or None when the account is locked or unknown."""
    s = ctx.settings
    users = ctx.store.users.collection
    for _ in range(3):
        now = time.time()
        hour = int(now // HOUR)
        doc = await users.find_one_and_update(
            {"_id": user_id, "login_failures": {"$lt": s.login_failures_before_lock},
             "locked_until": {"$lt": now}, "failure_hour": hour,
             "hour_failures": {"$lt": s.login_failures_per_hour}},
            {"$inc": {"login_failures": 1, "version": 1}},
            return_document=ReturnDocument.AFTER)
        if doc is not None:
            return doc
        doc = await users.find_one({"_id": user_id})
        if doc is None:
            return None
        if "login_failures" not in doc or doc["failure_hour"] != hour:
            # First login, or a new hour: the hour's failures start from zero.
            await users.update_one({"_id": user_id, "version": doc["version"]}, {
                "$set": {"login_failures": doc.get("login_failures", 0),
                         "locked_until": doc.get("locked_until", 0.0),
                         "failure_hour": hour, "hour_failures": 0},
                "$inc": {"version": 1}})
            continue
        if doc["hour_failures"] >= s.login_failures_per_hour:
            return None
        if doc["locked_until"] == 0.0 or doc["locked_until"] >= now:
            # Locked, or the last allowed attempt is still being checked.
            return None
        # The lock ran out: count again from zero.
        await users.update_one({"_id": user_id, "locked_until": doc["locked_until"]},
                               {"$set": {"login_failures": 0, "locked_until": 0.0},
                                "$inc": {"version": 1}})
    return None


async def _attempt_failed(ctx: Identity, user: dict) -> None:
    update: dict = {"$inc": {"hour_failures": 1, "version": 1}}
    if user["login_failures"] >= ctx.settings.login_failures_before_lock:
        update["$set"] = {"locked_until": time.time() + ctx.settings.lock_minutes * 60}
    await ctx.store.users.collection.update_one({"_id": user["_id"]}, update)


async def _attempt_succeeded(ctx: Identity, user: dict) -> None:
    """Consecutive failures start again from zero (the hour's failures stay counted)."""
    await ctx.store.users.collection.update_one(
        {"_id": user["_id"]}, {"$set": {"login_failures": 0}, "$inc": {"version": 1}})


async def unlock(ctx: Identity, user_id: str) -> None:
    """ID-12: an administrator lifts a lock."""
    await ctx.store.users.collection.update_one(
        {"_id": user_id}, {"$set": {"login_failures": 0, "locked_until": 0.0,
                                    "hour_failures": 0}, "$inc": {"version": 1}})


# -- tokens --------------------------------------------------------------------------------------
def _claims(user: dict, amr: list[str], phone: str | None, company: dict | None) -> dict:
    claims = {"typ": "user", "cid": user["company_id"], "roles": list(user["roles"]),
              "perms": list(user.get("permissions", [])), "amr": amr}
    if phone is not None:
        # ID-6: a mobile-number login reaches only that number's own scope, further
        # restricted by what the company administrator allows.
        allowed = (company or {}).get("phone_login_permissions",
                                      list(DEFAULT_PHONE_LOGIN_PERMISSIONS))
        # A name no longer on the documented list (stored before it was dropped) gives nothing.
        claims.update(roles=[], perms=[p for p in allowed if p in PHONE_LOGIN_PERMISSIONS],
                      phone=phone)
    if user.get("must_change_password"):
        claims["pcr"] = True
    return claims


def _access(ctx: Identity, user: dict, claims: dict) -> str:
    return access_token(ctx.keys, issuer=ctx.settings.token_issuer,
                        audience=ctx.settings.token_audience, subject=user["_id"],
                        lifetime=ctx.settings.access_token_seconds, **claims)


async def start_session(ctx: Identity, user: dict, amr: list[str], *,
                        phone: str | None = None, family_id: str | None = None) -> dict:
    """An access token and a new refresh token (of a new family unless rotating)."""
    # Only a mobile-number session needs the company's settings in its token.
    company = await company_settings(ctx, user["company_id"]) if phone is not None else None
    refresh = secrets.token_urlsafe(32)
    await ctx.store.refresh_tokens.insert_one({
        "_id": codes.token_hash(refresh), "family_id": family_id or uuid.uuid4().hex,
        "user_id": user["_id"], "company_id": user["company_id"], "amr": amr, "phone": phone,
        "status": "active", "created_at": datetime.now(UTC),
        "expires": time.time() + ctx.settings.refresh_token_days * 86400,
    })
    return {"status": "authenticated", "access_token": _access(ctx, user, _claims(
                user, amr, phone, company)),
            "token_type": "Bearer", "expires_in": ctx.settings.access_token_seconds,
            "refresh_token": refresh,
            "password_change_required": bool(user.get("must_change_password"))}


async def refresh(ctx: Identity, token: str) -> dict:
    """Rotate a refresh token. Presenting one already rotated revokes its whole family."""
    h = codes.token_hash(token)
    doc = await ctx.store.refresh_tokens.find_one_and_update(
        {"_id": h, "status": "active"}, {"$set": {"status": "rotated"}})
    if doc is None:
        seen = await ctx.store.refresh_tokens.find_one({"_id": h})
        if seen is not None and seen["status"] == "rotated":
            await revoke_family(ctx, seen["family_id"])
            raise RefreshTokenInvalid("This refresh token was already used; every session "
                                      "of its login was ended. Log in again.",
                                      slug="refresh-token-reused")
        raise RefreshTokenInvalid("Log in again.")
    if doc["expires"] < time.time():
        raise RefreshTokenInvalid("The session has expired. Log in again.")
    user = await ctx.store.users.get({"_id": doc["user_id"]})
    # Imported here: account builds on this module. A token issued before the password last
    # changed is refused even if the revocation after that change never ran.
    from services.identity.handlers.account import changed_password_since
    if (user is None or user["status"] != "active"
            or changed_password_since(user, doc["created_at"])):
        await revoke_family(ctx, doc["family_id"])
        raise RefreshTokenInvalid("Log in again.")
    return await start_session(ctx, user, doc["amr"], phone=doc.get("phone"),
                               family_id=doc["family_id"])


async def revoke_family(ctx: Identity, family_id: str) -> None:
    await ctx.store.refresh_tokens.update_many({"family_id": family_id},
                                               {"$set": {"status": "revoked"}})


async def revoke_user_sessions(ctx: Identity, user_id: str) -> None:
    await ctx.store.refresh_tokens.update_many({"user_id": user_id},
                                               {"$set": {"status": "revoked"}})


async def log_out(ctx: Identity, token: str) -> None:
    doc = await ctx.store.refresh_tokens.find_one({"_id": codes.token_hash(token)})
    if doc is not None:
        await revoke_family(ctx, doc["family_id"])


# -- password login ----------------------------------------------------------------------------
async def password_login(ctx: Identity, login: str, password: str) -> dict:
    """ID-4: username, email or ``name@company`` and password; then the SMS step (ID-5)
    unless the company switched it off."""
    user_id = await find_user_id_by_login(ctx, login)
    user = await _reserve_attempt(ctx, user_id) if user_id is not None else None
    ok = await verify_password(user["password_hash"] if user else None, password)
    if user is None or not ok or user["status"] != "active":
        if user is not None and not ok:
            await _attempt_failed(ctx, user)
        # The reason goes to /metrics only; the caller gets the same answer for each.
        _failed(ctx, "password", "unknown-login" if user_id is None else
                "locked" if user is None else "wrong-password" if not ok else "inactive")
        raise LoginFailed("Check the login id and the password.")
    await _attempt_succeeded(ctx, user)
    company = await company_settings(ctx, user["company_id"])
    if company.get("sms_login_step", True) and user.get("phone"):
        return await _send_login_code(ctx, user, purpose="second_factor", amr=["pwd", "sms"])
    return await start_session(ctx, user, ["pwd"])


def _failed(ctx: Identity, method: str, reason: str) -> None:
    if ctx.login_failures is not None:
        ctx.login_failures.labels(method, reason).inc()


# -- SMS codes -----------------------------------------------------------------------------------
# Which allowances each login code spends: sms_limits. A login attempt is stored for unknown
# and inactive numbers too, as a decoy (no user, a code hash nothing matches, nothing sent),
# so code entry and resend answer alike for every number: tries counted, the same cool-down,
# the same limits. Every attempt carries ``expires_at`` (a TTL index removes it then).
TOO_MANY_TRIES = "Too many wrong codes. Start the login again."


def _phone_hint(phone: str) -> str:
    return phone[:3] + "•" * max(0, len(phone) - 5) + phone[-2:]


def _code_fields(ctx: Identity, attempt_id: str, *, real: bool) -> tuple[str, dict]:
    """A new code for an attempt (its tries stay counted); a decoy's hash is of a secret no
    6-digit code can match."""
    code = codes.new_numeric_code()
    hashed = code if real else secrets.token_hex(16)
    now = time.time()
    return code, {"code_hash": codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                                               attempt_id, hashed),
                  "code_expires": now + ctx.settings.sms_code_seconds,
                  "resend_after": now + ctx.settings.sms_resend_cooldown_seconds,
                  **_kept(ctx)}


def _kept(ctx: Identity) -> dict:
    """Until when an attempt is kept: counted from its last code, decoy or not."""
    return {"expires_at": datetime.now(UTC)
            + timedelta(hours=ctx.settings.login_attempt_kept_hours)}


def _code_event(ctx: Identity, attempt: dict, user: dict, code: str) -> dict:
    return ctx.event(events.LOGIN_CODE_REQUESTED, events.LoginCodeRequested(
        login_attempt_id=attempt["_id"], user_id=user["_id"], company_id=user["company_id"],
        phone=attempt["phone"], language=user.get("language", "en"), code=code,
        expires_at=datetime.fromtimestamp(attempt["code_expires"], UTC)),
        subject=user["_id"], company_id=user["company_id"])


def _code_required(ctx: Identity, attempt_id: str, phone: str) -> dict:
    return {"status": "code_required", "second_factor": "sms", "login_attempt_id": attempt_id,
            "phone_hint": _phone_hint(phone), "code_expires_in": ctx.settings.sms_code_seconds,
            "resend_after_seconds": ctx.settings.sms_resend_cooldown_seconds}


async def _new_attempt(ctx: Identity, phone: str, user: dict | None, *, purpose: str,
                       amr: list[str], candidates: list[str] | None = None) -> dict:
    """A stored login attempt waiting for its code, sent to ``user``; None makes a decoy.
    ``candidates``: the accounts a mobile-number login may end in (``user`` first)."""
    attempt_id = uuid.uuid4().hex
    code, fields = _code_fields(ctx, attempt_id, real=user is not None)
    attempt = {"_id": attempt_id, "user_id": user["_id"] if user else None,
               "company_id": user["company_id"] if user else None, "phone": phone,
               "purpose": purpose, "amr": amr, "status": "pending",
               "created_at": datetime.now(UTC), "tries": 0, **fields}
    if candidates is not None:
        attempt["candidates"] = candidates
    await ctx.store.login_attempts.create(
        attempt, [_code_event(ctx, attempt, user, code)] if user else [])
    return _code_required(ctx, attempt_id, phone)


async def _send_login_code(ctx: Identity, user: dict, *, purpose: str, amr: list[str]) -> dict:
    """The SMS step after a correct password: a refusal reveals nothing the caller does not
    know, so both limits answer 429."""
    await sms_limits.take_second_factor(ctx, user)
    return await _new_attempt(ctx, user["phone"], user, purpose=purpose, amr=amr)


async def _deliverable(ctx: Identity, attempt: dict, client_ip: str) -> tuple[dict | None, bool]:
    """The attempt's user, and whether a new code may go to it now (its path's allowances
    taken: sms_limits). A decoy is always a mobile-number login, so the limits a caller can
    see are the same for known and unknown numbers."""
    user = await ctx.store.users.get({"_id": attempt["user_id"]}) \
        if attempt["user_id"] else None
    if attempt["purpose"] == "second_factor":
        if user is None or user["status"] != "active":
            return user, False
        await sms_limits.take_second_factor(ctx, {**user, "phone": attempt["phone"]})
        return user, True
    await sms_limits.take_phone_login(ctx, attempt["phone"], client_ip)
    return user, await sms_limits.phone_login_deliverable(ctx, user)


async def resend_code(ctx: Identity, attempt_id: str, client_ip: str) -> dict:
    """ID-5 "resend": a new code for the same login attempt, after a cool-down. An attempt
    that used its tries stays dead: a resend does not revive it."""
    s = ctx.settings
    attempt = await ctx.store.login_attempts.get({"_id": attempt_id, "status": "pending"})
    if attempt is None:
        raise SecondFactorFailed("Start the login again.")
    if attempt["tries"] >= s.sms_code_tries:
        raise TooManyTries(TOO_MANY_TRIES)
    if attempt["resend_after"] > time.time():
        raise TooManyRequests("Wait a moment before asking for a new code.",
                              retry_after=math.ceil(attempt["resend_after"] - time.time()))
    user, send = await _deliverable(ctx, attempt, client_ip)
    code, fields = _code_fields(ctx, attempt_id, real=True)

    def renew(doc: dict) -> list:
        if doc["status"] != "pending" or doc["resend_after"] > time.time():
            raise TooManyRequests("Wait a moment before asking for a new code.", retry_after=5)
        if doc["tries"] >= s.sms_code_tries:
            raise TooManyTries(TOO_MANY_TRIES)
        if not send:
            # Nothing is sent; the code already stored (a decoy's matches nothing) stays.
            doc.update(resend_after=fields["resend_after"], expires_at=fields["expires_at"])
            return []
        doc.update(fields)
        return [_code_event(ctx, doc, user, code)]
    await ctx.store.login_attempts.change({"_id": attempt_id}, renew)
    return _code_required(ctx, attempt_id, attempt["phone"])


async def verify_code(ctx: Identity, attempt_id: str, code: str) -> dict:
    """The code ends the login it was sent for: at most N tries per attempt (resends
    included), valid a few minutes."""
    s = ctx.settings
    counted = await ctx.store.login_attempts.collection.find_one_and_update(
        {"_id": attempt_id, "status": "pending", "tries": {"$lt": s.sms_code_tries}},
        {"$inc": {"tries": 1, "version": 1}}, return_document=ReturnDocument.AFTER)
    if counted is None:
        known = await ctx.store.login_attempts.get({"_id": attempt_id})
        if known is not None and known["status"] == "pending":
            _failed(ctx, "sms-code", "too-many-tries")
            raise TooManyTries(TOO_MANY_TRIES)
        raise SecondFactorFailed("Start the login again.")
    expected = counted["code_hash"]
    given = codes.code_hash(s.code_pepper.get_secret_value(), attempt_id, code)
    if not codes.same_hash(expected, given):
        left = s.sms_code_tries - counted["tries"]
        _failed(ctx, "sms-code", "wrong-code")
        raise SecondFactorFailed("The code is not correct.", tries_left=left)
    if counted["code_expires"] < time.time():
        _failed(ctx, "sms-code", "expired")
        raise CodeExpired("Ask for a new code.")
    # A number several accounts use: the code proved the phone, now its holder picks one.
    choosing = counted["user_id"] is not None and len(counted.get("candidates") or []) > 1
    done = await ctx.store.login_attempts.collection.find_one_and_update(
        {"_id": attempt_id, "status": "pending"},
        {"$set": {"status": "choosing" if choosing else "done",
                  "choose_until": time.time() + s.sms_code_seconds},
         "$inc": {"version": 1}})
    if done is None or counted["user_id"] is None:
        raise SecondFactorFailed("Start the login again.")
    if choosing:
        # Imported here: phone_login builds on this module's SMS steps.
        from services.identity.handlers.phone_login import account_choice
        return await account_choice(ctx, counted)
    user = await ctx.store.users.get({"_id": counted["user_id"]})
    if user is None or user["status"] != "active":
        raise SecondFactorFailed("Start the login again.")
    phone = counted["phone"] if counted["purpose"] == "phone_login" else None
    return await start_session(ctx, user, counted["amr"], phone=phone)
