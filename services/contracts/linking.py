"""Linking a customer number with its one-time password (CON-2, CON-3, CON-4), built so that
guessing reveals nothing and locks out nobody but the guesser (issue 9, parts 4 and 5).

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

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import errors
from services.contracts.domain import one_time_passwords as otp
from services.contracts.handlers import PasswordPolicy, _linked_event, _now, link_view
from services.contracts.store import ContractsStore
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.ratelimit import HOUR, Limit, RateLimiter

log = get_logger("contracts.linking")

# Compared against when the number has no password (unknown, or none issued): the same HMAC
# is computed on every path, so the time taken does not tell a known number either.
_NO_PASSWORD = "0" * 64


@dataclass
class LinkAttempts:
    """Where link attempts are counted beyond the per-number password lock."""

    limits: RateLimiter
    # Wrong attempts per company per hour, across numbers.
    per_company: Limit
    # Wrong passwords for one number, from all companies, per alert to support.
    alert_after: int
    alerts: Counter

    @classmethod
    def wired(cls, store: ContractsStore, metrics: Metrics, *, per_company_per_hour: int,
              alert_after: int) -> LinkAttempts:
        alerts = metrics.counter("customer_number_guessing_alerts_total",
                                 "Customer numbers whose one-time password many companies got "
                                 "wrong (support looks into it; nobody is locked)")
        return cls(RateLimiter(store.counters, metrics),
                   Limit("link-attempts-per-company", per_company_per_hour, HOUR),
                   max(1, alert_after), alerts)


async def link_customer_number(store: ContractsStore, policy: PasswordPolicy,
                               attempts: LinkAttempts, *, company_id: str, user_id: str,
                               number: str, password: str, link_type: str,
                               contract_id: str | None = None,
                               access_number: str | None = None) -> dict[str, Any]:
    """Link a customer number to the caller's company with its one-time password."""
    if link_type == cn.USER and not (contract_id or access_number):
        # About the request only, so it may come before the password.
        raise errors.ContractRequired(
            [{"field": "contract_id", "rule": "required",
              "message": "a user link names one contract or phone number"}])
    await attempts.limits.check(
        attempts.per_company, company_id,
        "Your company entered too many wrong customer numbers or one-time passwords this "
        "hour; try again later.")
    doc = await store.numbers.get({"_id": number})
    generation = cn.password_generation(doc)
    stored = ((doc or {}).get("otp") or {}).get("hash") if generation else None
    taken = await store.take_password_attempt(number, company_id, generation,
                                              policy.max_attempts)
    if taken is None:
        raise errors.OneTimePasswordLocked(
            "Your company entered a wrong one-time password for this customer number too "
            "often; it is locked for your company. Ask " + errors.SERVICE_DESK +
            " for a new one.")
    right = otp.matches(stored or _NO_PASSWORD, number, password, policy.pepper)
    if not (right and stored):
        await _count_wrong(store, attempts, number, generation)
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
    rules = dict(company_id=company_id, link_type=link_type, contract_id=contract_id,
                 access_number=access_number)
    cn.check_link_rules(doc, **rules)
    cn.check_password_usable(doc, now=_now(), company_id=company_id)
    result: dict[str, Any] = {}

    def add_link(d: dict[str, Any]) -> list[dict]:
        contract = cn.check_link_rules(d, **rules)  # a concurrent holder link wins first
        if (not d.get("otp") or d["otp"]["hash"] != stored
                or d["otp"].get("used_at")
                or d["otp"].get("bound_company_id", company_id) != company_id):
            raise errors.OneTimePasswordUsed(
                "The one-time password was used at the same moment by another request.")
        link = cn.link(d, company_id=company_id, user_id=user_id, link_type=link_type,
                       contract=contract, now=_now())
        result["link"] = link
        return [_linked_event(d, link)]

    saved = await store.numbers.change({"_id": number}, add_link)
    if saved is None:
        raise errors.OneTimePasswordUsed("The customer number changed at the same moment.")
    return link_view(saved, result["link"])


async def _count_wrong(store: ContractsStore, attempts: LinkAttempts, number: str,
                       generation: str) -> None:
    """Many companies guessing one number alert support instead of locking its holder out."""
    total = await store.count_wrong_password(number, generation)
    if total % attempts.alert_after == 0:
        attempts.alerts.inc()
        # The number lets support look; the typed passwords are never logged.
        log.warning("one-time password of a customer number guessed by many callers",
                    customer_number=number, wrong_attempts=total)
