"""The SMS code of a login: second factor after a password (ID-5) and mobile-number login
(ID-6). Which allowances each code spends: sms_limits.

A login attempt is stored for unknown and inactive numbers too, as a decoy (no user, a code
hash nothing matches, nothing sent), so code entry and resend answer alike for every number:
tries counted, the same cool-down, the same limits. Every attempt carries ``expires_at`` (a
TTL index removes it then).
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.commands import EnterLoginCode, ResendLoginCode
from services.identity.domain.errors import CodeExpired, SecondFactorFailed, TooManyTries
from services.identity.domain.sessions import (
    AccountOption,
    AttemptPurpose,
    LoginAnswer,
    LoginAttempt,
)
from services.identity.domain.users import User
from services.identity.handlers import Identity, sms_limits
from services.identity.handlers.session_tokens import start_session
from shared.errors import TooManyRequests

TOO_MANY_TRIES = "Too many wrong codes. Start the login again."


def failed(ctx: Identity, method: str, reason: str) -> None:
    """Count a failed login on /metrics (the caller gets the same answer for each reason)."""
    if ctx.login_failures is not None:
        ctx.login_failures.labels(method, reason).inc()


def _phone_hint(phone: str) -> str:
    return phone[:3] + "•" * max(0, len(phone) - 5) + phone[-2:]


class _NewCode:
    """A new code for an attempt (its tries stay counted); a decoy's hash is of a secret no
    6-digit code can match."""

    def __init__(self, ctx: Identity, attempt_id: str, *, real: bool) -> None:
        self.code = codes.new_numeric_code()
        hashed = self.code if real else secrets.token_hex(16)
        now = time.time()
        self.code_hash = codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                                         attempt_id, hashed)
        self.code_expires = now + ctx.settings.sms_code_seconds
        self.resend_after = now + ctx.settings.sms_resend_cooldown_seconds
        # Until when an attempt is kept: counted from its last code, decoy or not.
        self.expires_at = datetime.now(UTC) + timedelta(
            hours=ctx.settings.login_attempt_kept_hours)

    def give(self, attempt: LoginAttempt) -> None:
        attempt.code_hash = self.code_hash
        attempt.code_expires = self.code_expires
        attempt.resend_after = self.resend_after
        attempt.expires_at = self.expires_at


def _record_code(attempt: LoginAttempt, user: User, code: str) -> None:
    attempt.record(events.LOGIN_CODE_REQUESTED, events.LoginCodeRequested(
        login_attempt_id=attempt.id, user_id=user.id, company_id=user.company_id,
        phone=attempt.phone, language=user.language, code=code,
        expires_at=datetime.fromtimestamp(attempt.code_expires, UTC)), subject=user.id)


def _code_required(ctx: Identity, attempt_id: str, phone: str) -> LoginAnswer:
    return LoginAnswer(status="code_required", second_factor="sms", login_attempt_id=attempt_id,
                       phone_hint=_phone_hint(phone),
                       code_expires_in=ctx.settings.sms_code_seconds,
                       resend_after_seconds=ctx.settings.sms_resend_cooldown_seconds)


async def new_attempt(ctx: Identity, phone: str, user: User | None, *, purpose: AttemptPurpose,
                      amr: list[str], candidates: list[str] | None = None) -> LoginAnswer:
    """A stored login attempt waiting for its code, sent to ``user`` at ``phone``; None
    makes a decoy. ``candidates``: the accounts a mobile-number login may end in (``user``
    first)."""
    attempt_id = uuid.uuid4().hex
    new = _NewCode(ctx, attempt_id, real=user is not None)
    fields: dict[str, Any] = {
        "_id": attempt_id, "user_id": user.id if user else None,
        "company_id": user.company_id if user else None, "phone": phone, "purpose": purpose,
        "amr": amr, "status": "pending", "created_at": datetime.now(UTC), "tries": 0,
        "code_hash": new.code_hash, "code_expires": new.code_expires,
        "resend_after": new.resend_after, "expires_at": new.expires_at}
    if candidates is not None:
        fields["candidates"] = candidates
    attempt = LoginAttempt.model_validate(fields)
    if user is not None:
        _record_code(attempt, user, new.code)
    await ctx.login_attempts.create(attempt)
    return _code_required(ctx, attempt_id, phone)


async def send_login_code(ctx: Identity, user: User, phone: str, *, purpose: AttemptPurpose,
                          amr: list[str]) -> LoginAnswer:
    """The SMS step after a correct password, to the user's ``phone``: a refusal reveals
    nothing the caller does not know, so both limits answer 429."""
    await sms_limits.take_second_factor(ctx, user, phone)
    return await new_attempt(ctx, phone, user, purpose=purpose, amr=amr)


async def _deliverable(ctx: Identity, attempt: LoginAttempt,
                       client_ip: str) -> tuple[User | None, bool]:
    """The attempt's user, and whether a new code may go to it now (its path's allowances
    taken: sms_limits). A decoy is always a mobile-number login, so the limits a caller can
    see are the same for known and unknown numbers."""
    user = await ctx.users.get(attempt.user_id) if attempt.user_id else None
    if attempt.purpose == "second_factor":
        if user is None or user.status != "active":
            return user, False
        await sms_limits.take_second_factor(ctx, user, attempt.phone)
        return user, True
    await sms_limits.take_phone_login(ctx, attempt.phone, client_ip)
    return user, await sms_limits.phone_login_deliverable(ctx, user)


async def resend_code(cmd: ResendLoginCode, identity: Identity) -> LoginAnswer:
    """ID-5 "resend": a new code for the same login attempt, after a cool-down. An attempt
    that used its tries stays dead: a resend does not revive it."""
    attempt_id = cmd.attempt_id
    s = identity.settings
    attempt = await identity.login_attempts.get(attempt_id, status="pending")
    if attempt is None:
        raise SecondFactorFailed("Start the login again.")
    if attempt.tries >= s.sms_code_tries:
        raise TooManyTries(TOO_MANY_TRIES)
    if attempt.resend_after > time.time():
        raise TooManyRequests("Wait a moment before asking for a new code.",
                              retry_after=math.ceil(attempt.resend_after - time.time()))
    user, send = await _deliverable(identity, attempt, cmd.client_ip)
    new = _NewCode(identity, attempt_id, real=True)

    def renew(doc: LoginAttempt) -> None:
        if doc.status != "pending" or doc.resend_after > time.time():
            raise TooManyRequests("Wait a moment before asking for a new code.", retry_after=5)
        if doc.tries >= s.sms_code_tries:
            raise TooManyTries(TOO_MANY_TRIES)
        if not send or user is None:
            # Nothing is sent; the code already stored (a decoy's matches nothing) stays.
            doc.resend_after, doc.expires_at = new.resend_after, new.expires_at
            return
        new.give(doc)
        _record_code(doc, user, new.code)
    await identity.login_attempts.change(attempt_id, renew)
    return _code_required(identity, attempt_id, attempt.phone)


async def verify_code(cmd: EnterLoginCode, identity: Identity) -> LoginAnswer:
    """The code ends the login it was sent for: at most N tries per attempt (resends
    included), valid a few minutes."""
    attempt_id = cmd.attempt_id
    s = identity.settings
    counted = await identity.login_attempts.count_try(attempt_id, s.sms_code_tries)
    if counted is None:
        known = await identity.login_attempts.get(attempt_id)
        if known is not None and known.status == "pending":
            failed(identity, "sms-code", "too-many-tries")
            raise TooManyTries(TOO_MANY_TRIES)
        raise SecondFactorFailed("Start the login again.")
    given = codes.code_hash(s.code_pepper.get_secret_value(), attempt_id, cmd.code)
    if not codes.same_hash(counted.code_hash, given):
        failed(identity, "sms-code", "wrong-code")
        raise SecondFactorFailed("The code is not correct.",
                                 tries_left=s.sms_code_tries - counted.tries)
    if counted.code_expires < time.time():
        failed(identity, "sms-code", "expired")
        raise CodeExpired("Ask for a new code.")
    # A number several accounts use: the code proved the phone, now its holder picks one.
    choosing = counted.user_id is not None and len(counted.candidates or []) > 1
    ended = await identity.login_attempts.end(attempt_id, choosing=choosing,
                                         choose_seconds=s.sms_code_seconds)
    if not ended or counted.user_id is None:
        raise SecondFactorFailed("Start the login again.")
    if choosing:
        return await account_choice(identity, counted)
    user = await identity.users.get(counted.user_id)
    if user is None or user.status != "active":
        raise SecondFactorFailed("Start the login again.")
    phone = counted.phone if counted.purpose == "phone_login" else None
    return await start_session(identity, user, counted.amr, phone=phone)


async def account_choice(ctx: Identity, attempt: LoginAttempt) -> LoginAnswer:
    """The accounts a proven phone may log in to (ID-6): company name and the person's
    name."""
    accounts = []
    for user_id in attempt.candidates or []:
        user = await ctx.users.get(user_id)
        if user is None or user.status != "active" or user.phone != attempt.phone:
            continue
        company = await ctx.companies.get(user.company_id)
        accounts.append(AccountOption(
            account_id=user.id, company_id=user.company_id,
            company_name=company.name if company else "",
            name=" ".join(filter(None, [user.first_name, user.surname]))))
    if not accounts:
        raise SecondFactorFailed("Start the login again.")
    return LoginAnswer(status="account_choice_required", login_attempt_id=attempt.id,
                       accounts=accounts)
