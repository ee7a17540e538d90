"""ID-6: logging in with a mobile number and an SMS code (seed 002 "Belépés telefonszámmal").

The token reaches only that number's own functions, as far as the company administrator
allows (``phone_login_permissions``). Several accounts (of several companies) may use the same
number: the code is sent once, and only after it is entered does the caller see the accounts
and pick one; before that, known and unknown numbers answer alike.
"""

from __future__ import annotations

import time

from services.identity.domain.commands import ChoosePhoneAccount, LogInWithPhone
from services.identity.domain.errors import SecondFactorFailed
from services.identity.domain.registration import e164
from services.identity.domain.sessions import LoginAnswer
from services.identity.domain.users import User
from services.identity.handlers import Identity
from services.identity.handlers.login_codes import new_attempt
from services.identity.handlers.session_tokens import start_session
from services.identity.handlers.sms_limits import phone_login_deliverable, take_phone_login
from shared.errors import InvalidInput

# Accounts one mobile number may lead to: more are not offered, which bounds what an
# unauthenticated login reads.
PHONE_ACCOUNTS_MAX = 20


async def _phone_accounts(ctx: Identity, number: str) -> list[User]:
    """The active accounts whose login phone is ``number``, oldest first, whose company's
    phone-login allowance lets a code go out (taken once per company)."""
    users = await ctx.users.using_phone(number, limit=PHONE_ACCOUNTS_MAX)
    users = sorted((u for u in users if u.status == "active"),
                   key=lambda u: (str(u.created_at or ""), u.id))
    allowed: dict[str, bool] = {}
    for u in users:
        if u.company_id not in allowed:
            allowed[u.company_id] = await phone_login_deliverable(ctx, u)
    return [u for u in users if allowed[u.company_id]]


async def phone_login(cmd: LogInWithPhone, identity: Identity) -> LoginAnswer:
    """ID-6: a mobile number (9-digit national or E.164) gets an SMS code. Known or not, the
    client's and the number's hourly limits are counted and the answer is a stored attempt (a
    decoy when no active account uses the number, or its company's phone-login allowance is
    used up). Only this path's own allowances are spent: a stranger's phone logins never
    block the holder's password login (sms_limits). When several accounts (of several
    companies) use the number, the code is sent once and the caller picks the account after
    entering it: nothing about them is told before."""
    number = e164(cmd.phone)
    await take_phone_login(identity, number, cmd.client_ip)
    accounts = await _phone_accounts(identity, number)
    return await new_attempt(identity, number, accounts[0] if accounts else None,
                             purpose="phone_login", amr=["sms"],
                             candidates=[u.id for u in accounts])


async def choose_phone_account(cmd: ChoosePhoneAccount, identity: Identity) -> LoginAnswer:
    """ID-6: after the code of a number several accounts use, log in to the one picked. The
    choice is single use and valid as long as a code is."""
    attempt_id, account_id = cmd.attempt_id, cmd.account_id
    attempt = await identity.login_attempts.get(attempt_id, status="choosing",
                                           purpose="phone_login")
    if attempt is None or attempt.choose_until < time.time():
        raise SecondFactorFailed("Start the login again.")
    if account_id not in (attempt.candidates or []):
        raise InvalidInput([{"field": "account_id", "rule": "offered_account",
                             "message": "Choose one of the accounts offered after the code."}])
    user = await identity.users.get(account_id)
    if user is None or user.status != "active" or user.phone != attempt.phone:
        raise SecondFactorFailed("Start the login again.")
    if not await identity.login_attempts.chosen(attempt_id, account_id):
        raise SecondFactorFailed("Start the login again.")
    return await start_session(identity, user, attempt.amr, phone=attempt.phone)
