"""Forgotten password by one-time code (ID-8, seed 002: "…az adott felhasználóhoz tartozó
e-mail címre vagy telefonszámra kiküldött egyszeri azonosító kód segítségével…"): besides the
email link (``account``), a user asks for a code sent to the account's email address or by
SMS to its phone, and enters it with the new password twice.

The same care as the link: the request takes the typed login id's allowance and queues it
(the same write, and the same answer with a ``reset_id``, whatever the login id); identity's
own consumer of PASSWORD_RESET_CODE_ASKED looks the login id up off the request and, for an
active account, sends a code. The queued document is the reset itself, for known and unknown
login ids alike, so a guess at its code is answered the same either way. A code is stored
only as a keyed hash, works once, until it expires, while it is the newest reset of the
account, for a few tries, and only while the password was not changed since it was asked for;
a new password ends every session and is announced by email.

Resolving a request takes the account's, the number's and the company's allowances before the
write that sends the code; a delivery interrupted in between (a crash) is delivered again. So
that it takes them only once, the reset records which allowances it is taking before it takes
them, and a redelivery gives those back before it takes them again (a crash before the take
gives back one use nobody took: the error is in the user's favour, never a second charge).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from services.identity import events
from services.identity.domain import secrets as codes
from services.identity.domain.commands import RequestResetCode, ResetWithCode, SendResetCode
from services.identity.domain.errors import (
    CodeExpired,
    CodeIncorrect,
    PasswordRejected,
    TooManyTries,
)
from services.identity.domain.password_resets import PasswordReset
from services.identity.domain.users import User
from services.identity.handlers import Identity, check_new_password, company_policy
from services.identity.handlers.account import (
    _set_password,
    end_password_resets,
    password_history,
    queued_reset,
    reset_requests_per_ip,
)
from services.identity.handlers.sessions import find_user_id_by_login
from services.identity.handlers.sms_limits import sms_per_company, sms_per_phone
from shared.durations import in_words
from shared.ratelimit import HOUR, Limit

# Eight digits: a code is typed from an SMS, and with a few tries per code and a few codes per
# hour a guesser needs millions of hours.
CODE_DIGITS = 8
TOO_MANY_TRIES = ("Too many wrong codes: this code no longer works. Ask for a new one: POST "
                  "/v1/password-reset-codes.")


def _login_key(login: str) -> str:
    """Counters are keyed by a digest of the typed login id, not the login id itself."""
    return hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]


def _code_hash(ctx: Identity, reset_id: str, code: str) -> str:
    return codes.code_hash(ctx.settings.code_pepper.get_secret_value(),
                           f"password-reset:{reset_id}", code)


async def request_reset_code(cmd: RequestResetCode, identity: Identity) -> str:
    """Queue a code for ``login`` by ``channel``; the same answer (a new reset id) for every
    login id. Past the login id's hourly allowance nothing is sent, silently."""
    s = identity.settings
    login, channel = cmd.login, cmd.channel
    await identity.limits.check(reset_requests_per_ip(identity), cmd.client_ip,
                           "Too many password requests came from here. Try again later.")
    reset_id = uuid.uuid4().hex
    reset = queued_reset(identity, reset_id, kind="code", channel=channel, tries=0)
    allowed = await identity.limits.take(Limit("password-reset-codes-per-login",
                                          s.password_reset_emails_per_hour, HOUR),
                                    _login_key(login))
    if not allowed:
        # Still a reset document: a guess at its code gets the same answers as any other.
        reset.status = "refused"
    else:
        reset.record(events.PASSWORD_RESET_CODE_ASKED, events.PasswordResetCodeAsked(
            request_id=reset_id, login=login, channel=channel))
    await identity.password_resets.create(reset)
    return reset_id


def _allowances(ctx: Identity, user: User | None, channel: str) -> list[tuple[Limit, str]]:
    """What sending a code to ``user`` takes: the account's hourly allowance of reset messages
    (links and codes of every login id together) and, for an SMS, the number's and the
    company's SMS allowances. Empty when there is nobody to send to."""
    if user is None or user.status != "active":
        return []
    if channel == "sms" and not user.phone:
        return []
    taken = [(Limit("password-reset-messages-per-account",
                    ctx.settings.password_reset_emails_per_hour, HOUR), user.id)]
    if channel == "sms" and user.phone:
        taken += [(sms_per_phone(ctx), user.phone), (sms_per_company(ctx), user.company_id)]
    return taken


async def _take_once(ctx: Identity, queued: PasswordReset,
                     allowances: list[tuple[Limit, str]]) -> bool:
    """Take ``allowances`` for the queued reset (all or none), once however often its request
    is delivered: what an interrupted delivery recorded as taking is given back first."""
    for name, key in queued.taking or []:
        # Every allowance here counts per hour; the name and the window find the counter.
        await ctx.limits.give_back(Limit(name, 0, HOUR), key)
    if not allowances:
        return False
    names = [[limit.name, key] for limit, key in allowances]

    def record(reset: PasswordReset) -> None:
        if reset.status == "queued":
            reset.taking = names
    await ctx.password_resets.change(queued.id, record)
    return await ctx.limits.take_all(allowances) is None


async def send_reset_code(cmd: SendResetCode, identity: Identity) -> None:
    """The queued request resolved: an active account gets a code (and every older open
    reset of it ends); any other login id gets nothing."""
    reset_id, login, channel = cmd.reset_id, cmd.login, cmd.channel
    queued = await identity.password_resets.get(reset_id)
    if queued is None or queued.status != "queued":
        return  # resolved already (a redelivery): its allowances stay untouched
    user_id = await find_user_id_by_login(identity, login)
    user = await identity.users.get(user_id) if user_id else None
    deliverable = await _take_once(identity, queued, _allowances(identity, user, channel))
    code = codes.new_numeric_code(CODE_DIGITS)

    def resolve(reset: PasswordReset) -> None:
        if reset.status != "queued":
            return
        # The allowances are spent (or were refused) for good with this write.
        if not deliverable or user is None:
            reset.nothing_sent("nothing_sent")
            return
        reset.send_code(user, code=code, code_hash=_code_hash(identity, reset_id, code),
                        channel=channel)
    saved = await identity.password_resets.change(reset_id, resolve, applied_event=cmd.event_id)
    if saved is not None and saved.status == "open" and saved.user_id:
        await end_password_resets(identity, saved.user_id, before=saved.asked_at)


async def reset_with_code(cmd: ResetWithCode, identity: Identity) -> None:
    """The code and the new password twice: the password is set, every session ends, a
    "password changed" email follows. Each try is counted before the code is compared."""
    s = identity.settings
    reset_id, new_password, repeat = cmd.reset_id, cmd.new_password, cmd.new_password_repeat
    counted = await identity.password_resets.count_code_try(reset_id, s.password_reset_code_tries)
    if counted is None:
        if not await identity.password_resets.is_code(reset_id):
            raise CodeIncorrect(field="reset_id", rule="unknown",
                                message="no such reset; ask for a code first")
        raise TooManyTries(TOO_MANY_TRIES, new_code_request="/v1/password-reset-codes")
    matches = codes.same_hash(counted.code_hash or "",
                              _code_hash(identity, reset_id, cmd.code.strip()))
    if not matches:
        raise CodeIncorrect(tries_left=s.password_reset_code_tries - counted.tries)
    validity = in_words(timedelta(minutes=s.password_reset_minutes))
    if counted.status != "open":
        raise CodeExpired("This code was used already, or a newer one was sent, or the "
                          "password was changed since. Ask for a new code.")
    if counted.works_until <= datetime.now(UTC):
        raise CodeExpired(f"The code has expired (a code is valid for {validity}). Ask for "
                          "a new one.")
    user = await identity.users.get(counted.user_id) if counted.user_id else None
    if user is None or user.status != "active":
        raise CodeExpired("This code no longer works. Ask for a new one.")
    if user.password_changed_since(counted.asked_at):
        raise CodeExpired("The password was changed after this code was asked for. Ask for a "
                          "new code.")
    policy = await company_policy(identity, user.company_id)
    try:
        await check_new_password(new_password, policy=policy, username=user.username,
                                 history=password_history(user), repeat=repeat)
    except PasswordRejected:
        # The code was right: a password the policy refuses costs no try.
        await identity.password_resets.give_back_try(reset_id)
        raise
    if not await identity.password_resets.use(reset_id):
        raise CodeExpired("This code was used already. Ask for a new one.")
    await _set_password(identity, user, new_password, repeat)
