"""identity: password logins and refresh-token grants per second per core.

identity runs as its own process (as in production) with the SMS step off; this process
sends the requests over loopback, two logins in flight per core. "Per core" is counted the
way an operator sizes a replica: requests per CPU-second the identity process used (read
from /proc), so neither the load generator nor the database — another host in production,
the emulator here — is charged to identity. The machine-wide rate (wall clock ÷ cores,
everything on two shared cores) is reported next to it.

Baseline: the raw argon2id verify rate (OWASP parameters), one thread per core, in this
process: verifications per CPU-second. Every login does what production does: login-id
lookup, the guard write before the check, argon2id in the hashing pool, token signing, a
refresh token. Targets: logins ≥ 0.85 of the raw rate; refresh grants ≥ 360/s per core.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import BenchConfig, register
from services.identity.handlers import HASHER
from shared import mongo
from shared.bus import Topology
from tests.support.broker import delete_topology
from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import ServiceProcess, free_port, platform_env

LOGIN_TARGET_RATIO = 0.85
REFRESH_TARGET_PER_S = 360.0
CORES = os.cpu_count() or 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _verify_many(stored: str, n: int) -> float:
    start = time.thread_time()
    for _ in range(n):
        HASHER.verify(stored, "Sicher!Pass42")
    return time.thread_time() - start


async def raw_verify(n: int) -> dict[str, float]:
    """argon2id verifications: per CPU-second, and per wall second with a thread per core."""
    stored = HASHER.hash("Sicher!Pass42")
    per_thread = max(1, n // CORES)
    start = time.perf_counter()
    cpu = await asyncio.gather(*(asyncio.to_thread(_verify_many, stored, per_thread)
                                 for _ in range(CORES)))
    wall = time.perf_counter() - start
    return {"per_cpu_s": per_thread * CORES / sum(cpu),
            "per_s_per_core": per_thread * CORES / wall / CORES}


async def _timed(n: int, in_flight: int, call, pid: int) -> dict[str, Any]:
    latencies: list[float] = []
    per_worker = max(1, n // in_flight)

    async def worker() -> None:
        for _ in range(per_worker):
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)
    cpu0, start = _cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, cpu = time.perf_counter() - start, _cpu_seconds(pid) - cpu0
    return {"n": len(latencies), "in_flight": in_flight,
            "per_identity_cpu_s": round(len(latencies) / cpu, 1),
            "per_s_per_core_machine": round(len(latencies) / wall / CORES, 1),
            "identity_cpu_ms_each": round(cpu / len(latencies) * 1000, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2)}


@register("identity")
async def identity_logins(config: BenchConfig) -> dict[str, Any]:
    n_logins = max(60, min(config.n // 20, 300))
    n_refresh = max(300, min(config.n // 2, 3000))
    unique = uuid.uuid4().hex[:10]
    port = free_port()
    env = platform_env(mongo_url=config.mongodb_url, amqp_url=config.amqp_url,
                       bus_prefix=config.bus_prefix, db_prefix=f"bench_{unique}",
                       ports={"identity": port, "billing": 0, "contracts": 0,
                              "notifications": 0},
                       extra={"IDENTITY_LOGIN_FAILURES_PER_HOUR": str(10**6),
                              "LOG_LEVEL": "WARNING"})
    log = Path(config.out) / "identity-bench.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    identity = ServiceProcess("identity", port, env, log)
    identity.start()
    try:
        await identity.wait_ready()
        url = identity.url
        assert identity.proc is not None
        pid = identity.proc.pid
        async with EventTap(config.amqp_url, config.bus_prefix, "identity.#") as tap, \
                aiohttp.ClientSession() as http:
            account = await register_company(http, url, tap)
            async with http.patch(f"{url}/v1/company/settings", headers=account.auth,
                                  json={"sms_login_step": False}) as r:
                assert r.status == 200
            sessions: list[dict] = []

            async def login() -> None:
                async with http.post(f"{url}/v1/sessions", json={
                        "login": account.email, "password": account.password}) as r:
                    body = await r.json()
                    assert r.status == 200 and body["access_token"], body
                    sessions.append(body)

            for _ in range(10):
                await login()
            raw = await raw_verify(n_logins)
            logins = await _timed(n_logins, 2 * CORES, login, pid)

            tokens = [sessions[-1]["refresh_token"]]

            async def grant() -> None:
                async with http.post(f"{url}/v1/sessions/refresh",
                                     json={"refresh_token": tokens[-1]}) as r:
                    body = await r.json()
                    assert r.status == 200, body
                tokens.append(body["refresh_token"])

            refresh = await _timed(n_refresh, 1, grant, pid)
    finally:
        identity.stop()
        client = mongo.connect(config.mongodb_url)
        await client.drop_database(f"bench_{unique}_identity")
        await client.close()
        await delete_topology(config.amqp_url, Topology(config.bus_prefix, "identity"),
                              [0.2, 0.5, 1.0])
    ratio = logins["per_identity_cpu_s"] / raw["per_cpu_s"]
    machine_ratio = logins["per_s_per_core_machine"] / raw["per_s_per_core"]
    return {
        "benchmark": "identity",
        "logins": logins,
        "baseline_argon2id_verify": {"n": n_logins, "parameters": "m=19 MiB, t=2, p=1",
                                     "per_cpu_s": round(raw["per_cpu_s"], 1),
                                     "per_s_per_core_machine": round(raw["per_s_per_core"], 1)},
        "ratio": round(ratio, 3), "target_ratio": LOGIN_TARGET_RATIO,
        "meets_target": ratio >= LOGIN_TARGET_RATIO,
        "ratio_machine_wide": round(machine_ratio, 3),
        "refresh_grants": {**refresh, "target_per_s_per_core": REFRESH_TARGET_PER_S,
                           "meets_target": refresh["per_identity_cpu_s"] >= REFRESH_TARGET_PER_S},
        "machine": {"cores": CORES, "load_1m": os.getloadavg()[0]},
        "measured_at": datetime.now(UTC).isoformat(),
    }
