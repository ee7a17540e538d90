"""Activating a requested account with its activation code (ID-2): the person enters the
code, chooses a username (6–32 characters) and a password. An expired code is refused with
its own problem, and a new code can be asked for by email address.

Nothing here tells whether an address has an account waiting for activation: a wrong code for
an unknown address is counted against a decoy (a windowed allowance of the rate-limit kit, as
long as a code is valid, so its counter expires) with the same tries, the same ``tries_left``
and the same "ask for a new code" once they are used up, and a code request answers the same
202 for every address, counted per address and per client IP. Activation tries are counted
per client IP too."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from services.identity.domain import secrets as codes
from services.identity.domain import users as rules
from services.identity.domain.commands import Activate, RequestActivationCode
from services.identity.domain.errors import TooManyTries, UserStatusConflict
from services.identity.domain.registration import normalise_email
from services.identity.domain.sessions import LoginAnswer
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    company_policy,
    hash_password,
    login_domains,
    release_login,
)
from services.identity.handlers.session_tokens import start_session
from services.identity.handlers.users import reissue_activation_code
from shared.ratelimit import HOUR, Limit

TOO_MANY_TRIES = ("Too many wrong codes: this code no longer works. Ask for a new one: POST "
                  "/v1/activations/code-requests with your email address.")


def _address_key(email: str) -> str:
    """Counters are keyed by a digest of the address, not the address itself."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


def _decoy(ctx: Identity) -> Limit:
    """The tries of an address with no account waiting for activation: a code's tries, in a
    window as long as a code is valid (then its counter is removed, like every rate-limit
    counter)."""
    return Limit("activation-decoy-tries", ctx.settings.activation_code_tries,
                 ctx.settings.activation_code_validity.total_seconds())


async def _decoy_try(ctx: Identity, email: str) -> int | None:
    """A try against an address with no account waiting for activation, counted like a
    code's tries: the tries left, or None once they are used up (until a code request)."""
    return await ctx.limits.take_left(_decoy(ctx), _address_key(email))


async def _pending_user(ctx: Identity, email: str) -> User | None:
    owner = await ctx.login_ids.owner(f"email:{normalise_email(email)}")
    user = await ctx.users.get(owner) if owner else None
    if user is None or user.status != "pending_activation" or not user.activation_code_hash:
        return None
    return user


async def activate(cmd: Activate, identity: Identity) -> LoginAnswer:
    """Check the code (a few tries per code, a few per client IP and hour), then the username
    and password; the account is active and the person logged in. The per-IP 429 comes before
    anything is looked up, so it says nothing about the address."""
    s = identity.settings
    email, code, username, password = cmd.email, cmd.code, cmd.username, cmd.password
    await identity.limits.check(Limit("activations-per-ip", s.activations_per_ip_per_hour, HOUR),
                           cmd.client_ip)
    user = await _pending_user(identity, email)
    if user is None:
        left = await _decoy_try(identity, email)
        if left is None:
            raise TooManyTries(TOO_MANY_TRIES, new_code_request="/v1/activations/code-requests")
        # The very problem a wrong code for a waiting account gets.
        rules.check_activation_code(None, False, time.time(), left)
        raise AssertionError("a wrong code always raises")
    # Each try is counted before the code is compared, so parallel guesses get no more.
    counted = await identity.users.count_activation_try(user, s.activation_code_tries)
    if counted is None or counted.activation_code_hash is None:
        raise TooManyTries(TOO_MANY_TRIES, new_code_request="/v1/activations/code-requests")
    code_hash = counted.activation_code_hash
    given = codes.code_hash(s.code_pepper.get_secret_value(), f"activation:{user.id}",
                            code.strip().upper())
    matches = codes.same_hash(code_hash, given)
    rules.check_activation_code(counted, matches, time.time(),
                                s.activation_code_tries - counted.activation_tries)
    # ID-14: name@handle only with the company's own login domain.
    username = await login_domains.check_username(identity, user.company_id, username, user.roles)
    policy = await company_policy(identity, user.company_id)
    await check_new_password(password, policy=policy, username=username)
    username_key = f"username:{username.lower()}"
    await claim_login(identity, username_key, user.id)
    password_hash = await hash_password(password)

    def apply(u: User) -> None:
        if u.status != "pending_activation" or u.activation_code_hash != code_hash:
            raise UserStatusConflict("This account was activated already, or a new code "
                                     "was sent; use the newest code or log in.")
        u.activate(username=username, password_hash=password_hash, now=datetime.now(UTC))
    try:
        saved = await identity.users.change(user.id, apply)
    except UserStatusConflict:
        await release_login(identity, username_key, user.id)
        raise
    if saved is None:
        raise UserStatusConflict("This account no longer exists.")
    previous = user.username
    if previous and previous.lower() != username.lower():
        # An administrator proposed another username; the person chose this one.
        await release_login(identity, f"username:{previous.lower()}", user.id)
    return await start_session(identity, saved, ["pwd"])


async def request_new_code(cmd: RequestActivationCode, identity: Identity) -> None:
    """A new activation code for an account not yet activated. A few per hour per address
    (known or not) and per client IP; above the address's limit, and for other addresses,
    nothing is sent and the answer is the same. An unknown address's decoy tries start
    again, as a waiting account's do with its new code."""
    s = identity.settings
    email = cmd.email
    await identity.limits.check(Limit("activation-code-requests-per-ip",
                                 s.activation_code_requests_per_ip_per_hour, HOUR),
                           cmd.client_ip)
    if not await identity.limits.take(Limit("activation-code-requests",
                                       s.activation_code_requests_per_hour, HOUR),
                                 _address_key(email)):
        return
    user = await _pending_user(identity, email)
    if user is None:
        await identity.limits.reset(_decoy(identity), _address_key(email))
        return
    try:
        await reissue_activation_code(identity, user)
    except UserStatusConflict:
        return
