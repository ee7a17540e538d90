"""Linking a customer number with its one-time password (CON-2, CON-3, CON-4), built so that
guessing reveals nothing and locks out nobody but the guesser.

The order is the point: the password is checked first. An unknown number and a known number
with a wrong password get the same answer (422 ``wrong-one-time-password``, the same body
members, the same counting, the same HMAC work); only a caller whose password proved right
learns why a link can not be made (expired, used, linked elsewhere, mixed segments, ...).

Wrong passwords are counted three ways:
- per (customer number, company): after ``max_attempts`` that company alone is locked out of
  that password (429 ``one-time-password-locked``); the holder's company still links;
- per customer number across companies: every ``alert_after`` wrong passwords support is
  alerted (metric ``bap_customer_number_guessing_alerts_total``, a warning log line); nobody is
  locked by it;
- per company per hour across numbers (``shared.ratelimit``): 429 ``rate-limited`` with
  ``Retry-After``, for known and unknown numbers alike.
"""

from __future__ import annotations

from services.contracts.domain import errors
from services.contracts.domain import one_time_passwords as otp
from services.contracts.domain.commands import LinkCustomerNumber, UnlinkCustomerNumber
from services.contracts.domain.customer_numbers import USER, CustomerNumber
from services.contracts.handlers import Contracts
from shared.logging import get_logger

log = get_logger("contracts.linking")

# Compared against when the number has no password (unknown, or none issued): the same HMAC
# is computed on every path, so the time taken does not tell a known number either.
_NO_PASSWORD = "0" * 64


async def link_customer_number(cmd: LinkCustomerNumber, uow: Contracts) -> CustomerNumber:
    """Link a customer number to the caller's company with its one-time password; the number
    as saved (its ``link_of(company)`` is the link made)."""
    store, policy, attempts = uow.store, uow.policy, uow.attempts
    company_id, number = cmd.company_id, cmd.customer_number
    if cmd.link_type == USER and not (cmd.contract_id or cmd.access_number):
        # About the request only, so it may come before the password.
        raise errors.ContractRequired(
            [{"field": "contract_id", "rule": "required",
              "message": "a user link names one contract or phone number"}])
    await attempts.limits.check(
        attempts.per_company, company_id,
        "Your company entered too many wrong customer numbers or one-time passwords this "
        "hour; try again later.")
    found = await store.numbers.get({"_id": number})
    generation = found.password_generation if found is not None else ""
    stored = found.otp.hash if generation and found is not None and found.otp else None
    taken = await store.take_password_attempt(number, company_id, generation,
                                              policy.max_attempts)
    if taken is None:
        raise errors.OneTimePasswordLocked(
            "Your company entered a wrong one-time password for this customer number too "
            "often; it is locked for your company. Ask " + errors.SERVICE_DESK +
            " for a new one.")
    right = otp.matches(stored or _NO_PASSWORD, number, cmd.password, policy.pepper)
    if not (right and stored) or found is None:
        await _count_wrong(uow, number, generation)
        left = max(policy.max_attempts - taken, 0)
        raise errors.WrongOneTimePassword(
            f"The customer number or the one-time password is not correct; {left} "
            "attempt(s) left. Enter both as printed in the letter or email \"Your access to "
            "the Business Service Portal\"." if left else
            "The customer number or the one-time password is not correct, and it is now "
            "locked for your company. Ask " + errors.SERVICE_DESK + " for a new one.",
            attempts_left=left)
    # The caller holds the letter: the attempt does not count, and the reasons may be told.
    await store.give_back_password_attempt(number, company_id, generation)
    await attempts.limits.give_back(attempts.per_company, company_id)
    found.check_link_rules(company_id=company_id, link_type=cmd.link_type,
                           contract_id=cmd.contract_id, access_number=cmd.access_number)
    found.check_password_usable(now=uow.now(), company_id=company_id)

    def add_link(n: CustomerNumber) -> None:
        # A concurrent holder link wins first.
        contract = n.check_link_rules(company_id=company_id, link_type=cmd.link_type,
                                      contract_id=cmd.contract_id,
                                      access_number=cmd.access_number)
        n.check_password_unchanged(stored, company_id)
        n.link(company_id=company_id, user_id=cmd.user_id, link_type=cmd.link_type,
               contract=contract, now=uow.now())

    saved = await store.numbers.change({"_id": number}, add_link)
    if saved is None:
        raise errors.OneTimePasswordUsed("The customer number changed at the same moment.")
    return saved


async def _count_wrong(uow: Contracts, number: str, generation: str) -> None:
    """Many companies guessing one number alert support instead of locking its holder out."""
    total = await uow.store.count_wrong_password(number, generation)
    if total % uow.attempts.alert_after == 0:
        uow.attempts.alerts.inc()
        # The number lets support look; the typed passwords are never logged.
        log.warning("one-time password of a customer number guessed by many callers",
                    customer_number=number, wrong_attempts=total)


async def unlink_customer_number(cmd: UnlinkCustomerNumber, uow: Contracts) -> None:
    """Delete the company's link to a number (stale or not; CON-3)."""
    def remove(n: CustomerNumber) -> None:
        n.unlink(cmd.company_id)

    # Filtered by the company: another company's number is "not linked", not "exists".
    if await uow.store.numbers.change(
            {"_id": cmd.customer_number, "linked_companies": cmd.company_id}, remove) is None:
        raise errors.LinkNotFound(
            f"Your company has no link to customer number {cmd.customer_number}.")
