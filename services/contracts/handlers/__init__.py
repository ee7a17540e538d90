"""contracts' use cases: each ``async def use_case(cmd, uow: Contracts)``, a command from
``domain.commands`` and the unit of dependencies defined here (the store, the password
policy, where link attempts are counted, the clock); domain errors raised, aggregates
returned (views.py shapes answers).

- ``customer_numbers``: the CRM's numbers and contracts, support's new password, holder
  accounts (seed 004);
- ``links``: linking with the one-time password, unlinking;
- ``permissions``: contract spaces, identity's users, transfers (CON-5), sub-administrators
  (CON-6);
- ``contacts``: authorised contacts (CON-7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter

from services.contracts.store import ContractsStore
from shared.metrics import Metrics
from shared.ratelimit import HOUR, Limit, RateLimiter


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PasswordPolicy:
    """How one-time passwords are kept (from the settings)."""

    pepper: bytes
    valid_days: float = 10.0
    max_attempts: int = 5


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


@dataclass
class Contracts:
    """What contracts' use cases work with (wired once in app.py)."""

    store: ContractsStore
    policy: PasswordPolicy
    attempts: LinkAttempts
    now: Callable[[], datetime] = field(default=_now)
