"""The one rate-limit mechanism of the platform: named limits, counted per key in fixed windows
on MongoDB's atomic counters (so every replica of a service shares them), refusals counted per
limit in ``/metrics``.

    limits = RateLimiter(db["counters"], metrics)
    SIGNUPS = Limit("registrations-per-ip", 20, HOUR)
    await limits.check(SIGNUPS, request_ip)          # 429 + Retry-After when used up
    if not await limits.take(RESETS, email): return  # silent: same answer, nothing sent

Why no library: the limits must hold across replicas and survive restarts, and the only store
every service already has is MongoDB; the Python rate-limit libraries (``limits``,
``aiolimiter``) keep their counters in memory, Redis or Memcached. Fixed windows, not sliding
ones: a client can send up to twice a limit around a window's edge, which every limit here
tolerates (they bound abuse, not fairness).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.errors import TooManyRequests
from shared.metrics import Metrics
from shared.mongo import Quota, apply_indexes

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Limit:
    """``limit`` uses per key in each window of ``window_seconds``; ``name`` labels the metric
    and the problem. A limit of 0 or less refuses everything."""

    name: str
    limit: int
    window_seconds: float

    def retry_after(self, now: float | None = None) -> int:
        """Seconds until the current window ends (at least 1)."""
        now = time.time() if now is None else now
        return max(1, math.ceil(self.window_seconds - now % self.window_seconds))


class RateLimiter:
    """Takes allowances of named limits; every refusal is counted as
    ``bap_rate_limit_refusals_total{limit="<name>"}`` (limit names are constants: bounded)."""

    def __init__(self, collection: AsyncCollection[Any], metrics: Metrics) -> None:
        self._quota = Quota(collection)
        self._metrics = metrics

    async def apply_indexes(self) -> None:
        """Past windows' counters are removed by MongoDB (a TTL index on their end)."""
        await apply_indexes(self._quota.collection, Quota.INDEXES)

    async def take(self, limit: Limit, key: str, amount: int = 1) -> bool:
        """One use of ``limit`` for ``key`` (or ``amount`` uses, all or none); False (and
        counted) when the window has not that many left."""
        if limit.limit > 0 and await self._quota.take(f"{limit.name}:{key}", limit.limit,
                                                        limit.window_seconds, amount):
            return True
        self._metrics.rate_limit_refusals.labels(limit.name).inc()
        return False

    async def take_left(self, limit: Limit, key: str) -> int | None:
        """One use, for an allowance whose remainder the caller shows (tries left): the uses
        left in the window after this one, or None (counted) when it is used up."""
        used = await self._quota.take_counted(f"{limit.name}:{key}", limit.limit,
                                              limit.window_seconds) if limit.limit > 0 else None
        if used is None:
            self._metrics.rate_limit_refusals.labels(limit.name).inc()
            return None
        return limit.limit - used

    async def take_all(self, limit_keys: list[tuple[Limit, str]]) -> Limit | None:
        """One use of each (limit, key); the first limit that refused, else None. Uses taken
        before a refusal are given back, so a refused request costs no allowance elsewhere."""
        taken: list[tuple[Limit, str]] = []
        for limit, key in limit_keys:
            if not await self.take(limit, key):
                for back, back_key in taken:
                    await self.give_back(back, back_key)
                return limit
            taken.append((limit, key))
        return None

    async def check(self, limit: Limit, key: str, detail: str | None = None,
                    amount: int = 1) -> None:
        """Like ``take``, but a refusal is a 429 problem with ``Retry-After``."""
        if not await self.take(limit, key, amount):
            raise refused(limit, detail)

    async def check_all(self, limit_keys: list[tuple[Limit, str]],
                        detail: str | None = None) -> None:
        """Like ``take_all``, but a refusal is a 429 problem naming the limit."""
        limit = await self.take_all(limit_keys)
        if limit is not None:
            raise refused(limit, detail)

    async def give_back(self, limit: Limit, key: str, amount: int = 1) -> None:
        """Return the uses a request took that did not go through."""
        await self._quota.give_back(f"{limit.name}:{key}", limit.window_seconds, amount)


    async def reset(self, limit: Limit, key: str) -> None:
        """The current window's uses of ``key`` start again from zero (e.g. a new code gives
        its tries back)."""
        await self._quota.clear(f"{limit.name}:{key}", limit.window_seconds)


def refused(limit: Limit, detail: str | None = None) -> TooManyRequests:
    """The 429 problem for a used-up ``limit``: ``Retry-After`` and the limit's name."""
    return TooManyRequests(detail or "Too many requests of this kind; try again later.",
                           slug="rate-limited", limit=limit.name,
                           retry_after=limit.retry_after())
