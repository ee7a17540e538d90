"""identity: password logins and refresh-token grants per second per core.

Baseline: the raw argon2id verify rate (OWASP parameters), one thread per core, in this
process. Platform: identity's real app in this process, SMS step off, over HTTP on loopback,
two logins in flight per core: every login does what production does (login-id lookup,
guard counter, argon2id off the loop, token signing, refresh token). Both rates are divided
by the number of cores, so the ratio is what the platform keeps of argon2's own speed.
Refresh grants: one at a time (one core's event loop); the target is ≥ 360/s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench import BenchConfig, register
from services.identity.handlers import HASHER
from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company

LOGIN_TARGET_RATIO = 0.85
REFRESH_TARGET_PER_S = 360.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


CORES = os.cpu_count() or 1


def _verify_many(stored: str, n: int) -> None:
    for _ in range(n):
        HASHER.verify(stored, "Sicher!Pass42")


async def raw_verify_rate(n: int) -> float:
    """argon2id verifications per second with one thread per core (argon2 frees the GIL)."""
    stored = HASHER.hash("Sicher!Pass42")
    per_thread = max(1, n // CORES)
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(_verify_many, stored, per_thread)
                           for _ in range(CORES)))
    return per_thread * CORES / (time.perf_counter() - start)


@register("identity")
async def identity_logins(config: BenchConfig) -> dict[str, Any]:
    n_logins = max(50, min(config.n // 20, 300))
    n_refresh = max(200, min(config.n // 2, 3000))
    unique = uuid.uuid4().hex[:10]
    async with EventTap(config.amqp_url, config.bus_prefix, "identity.#") as tap:
        async with identity_running(config.mongodb_url, config.amqp_url, config.bus_prefix,
                                    unique, login_failures_per_hour=10**6) as (url, _app):
            async with aiohttp.ClientSession() as http:
                account = await register_company(http, url, tap)
                async with http.patch(f"{url}/v1/company/settings", headers=account.auth,
                                      json={"sms_login_step": False}) as r:
                    assert r.status == 200
                raw_rate = await raw_verify_rate(n_logins)

                async def login() -> dict:
                    async with http.post(f"{url}/v1/sessions", json={
                            "login": account.email, "password": account.password}) as r:
                        body = await r.json()
                        assert r.status == 200 and body["access_token"], body
                        return body

                for _ in range(10):
                    await login()
                latencies: list[float] = []
                per_worker = max(1, n_logins // (2 * CORES))

                async def worker() -> dict:
                    for _ in range(per_worker):
                        t = time.perf_counter()
                        session = await login()
                        latencies.append(time.perf_counter() - t)
                    return session
                start = time.perf_counter()
                sessions = await asyncio.gather(*(worker() for _ in range(2 * CORES)))
                login_rate = len(latencies) / (time.perf_counter() - start)

                token = sessions[0]["refresh_token"]
                refresh_latencies = []
                start = time.perf_counter()
                for _ in range(n_refresh):
                    t = time.perf_counter()
                    async with http.post(f"{url}/v1/sessions/refresh",
                                         json={"refresh_token": token}) as r:
                        body = await r.json()
                        assert r.status == 200, body
                    token = body["refresh_token"]
                    refresh_latencies.append(time.perf_counter() - t)
                refresh_rate = n_refresh / (time.perf_counter() - start)
    ratio = login_rate / raw_rate
    return {
        "benchmark": "identity",
        "logins": {"n": len(latencies), "per_s": round(login_rate, 1),
                   "per_s_per_core": round(login_rate / CORES, 1), "in_flight": 2 * CORES,
                   "p50_ms": round(statistics.median(latencies) * 1000, 2),
                   "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2)},
        "baseline_argon2id_verify": {"n": n_logins, "per_s": round(raw_rate, 1),
                                     "per_s_per_core": round(raw_rate / CORES, 1),
                                     "parameters": "m=19 MiB, t=2, p=1"},
        "ratio": round(ratio, 3), "target_ratio": LOGIN_TARGET_RATIO,
        "meets_target": ratio >= LOGIN_TARGET_RATIO,
        "refresh_grants": {"n": n_refresh, "per_s_per_core": round(refresh_rate, 1),
                           "p50_ms": round(statistics.median(refresh_latencies) * 1000, 2),
                           "p99_ms": round(_percentile(refresh_latencies, 0.99) * 1000, 2),
                           "target_per_s": REFRESH_TARGET_PER_S,
                           "meets_target": refresh_rate >= REFRESH_TARGET_PER_S},
        "machine": {"cores": os.cpu_count(), "load_1m": os.getloadavg()[0]},
        "measured_at": datetime.now(UTC).isoformat(),
    }
