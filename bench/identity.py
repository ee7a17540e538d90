"""identity: password logins and refresh-token grants per CPU-second of identity.

identity runs as its own process (as in production) with the SMS step off; this process
sends the requests over loopback, two logins in flight per core. "Per core" is counted the
way an operator sizes a replica: requests per CPU-second the identity process used (read
from /proc), so neither the load generator nor the database — another host in production,
the emulator here — is charged to identity. The machine-wide rate (wall clock ÷ cores,
everything on two shared cores) is reported next to it, and identity's CPU split by thread:
the event loop (HTTP, MongoDB, tokens: a login's cost "besides the hash") and the argon2id
pool.

Baseline: the raw argon2id verify rate (OWASP parameters), one thread per core, in this
process: verifications per CPU-second. Every login does what production does: login-id
lookup, the guard write before the check, argon2id in the hashing pool, token signing, a
refresh token. Targets: logins ≥ 0.92 of the raw rate (≤ 1.5 ms of event-loop CPU per
login); refresh grants ≥ 720 per identity CPU-second.

MongoDB round trips per login and per grant are counted in a second identity process run
under ``bench.counted`` (command monitoring costs CPU, so never in the timed one), with what
identity sends on its own while idle (the relay's polls) per second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import BenchConfig, register
from bench.counted import DUMPS, counts_by_command, difference
from services.identity.handlers import HASHER
from shared import mongo
from shared.bus import Topology
from shared.config import ServiceSettings
from tests.support.broker import delete_topology
from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import ROOT, ServiceProcess, free_port, platform_env

LOGIN_TARGET_RATIO = 0.92
REFRESH_TARGET_PER_S = 720.0
LOOP_CPU_TARGET_MS = 1.5
CORES = os.cpu_count() or 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int, task: int | None = None) -> float:
    path = f"/proc/{pid}/task/{task}/stat" if task is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
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
    cpu0, loop0, start = _cpu_seconds(pid), _cpu_seconds(pid, pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, cpu = time.perf_counter() - start, _cpu_seconds(pid) - cpu0
    loop = _cpu_seconds(pid, pid) - loop0  # the main thread: the event loop
    return {"n": len(latencies), "in_flight": in_flight,
            "per_identity_cpu_s": round(len(latencies) / cpu, 1),
            "per_s_per_core_machine": round(len(latencies) / wall / CORES, 1),
            "identity_cpu_ms_each": round(cpu / len(latencies) * 1000, 2),
            # what the event loop spent (HTTP, MongoDB, tokens) and the other threads (the
            # argon2id pool) per request
            "event_loop_cpu_ms_each": round(loop / len(latencies) * 1000, 2),
            "other_threads_cpu_ms_each": round((cpu - loop) / len(latencies) * 1000, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2)}


async def _run_identity(config: BenchConfig, *, n_logins: int, n_refresh: int,
                        counted: bool) -> dict[str, Any]:
    """Start identity (under ``bench.counted`` when ``counted``), register a company, log in
    ``n_logins`` times and grant ``n_refresh`` refresh tokens one after the other."""
    unique = uuid.uuid4().hex[:10]
    port = free_port()
    commands_file = Path(config.out) / f"identity-commands-{unique}.json"
    env = platform_env(mongo_url=config.mongodb_url, amqp_url=config.amqp_url,
                       bus_prefix=config.bus_prefix, db_prefix=f"bench_{unique}",
                       ports={"identity": port, "billing": 0, "contracts": 0,
                              "notifications": 0},
                       extra={"IDENTITY_LOGIN_FAILURES_PER_HOUR": str(10**6),
                              # production's relay poll interval (the tests poll faster)
                              "IDENTITY_RELAY_POLL_SECONDS": str(
                                  ServiceSettings().relay_poll_seconds),
                              "LOG_LEVEL": "WARNING", "BENCH_COMMANDS_FILE": str(commands_file)})
    log = Path(config.out) / "identity-bench.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    identity = ServiceProcess("identity", port, env, log)
    if counted:
        _start_counted(identity)
    else:
        identity.start()
    out: dict[str, Any] = {}
    try:
        await identity.wait_ready()
        url = identity.url
        assert identity.proc is not None
        pid = identity.proc.pid

        async def commands() -> dict[str, int]:
            """identity's MongoDB commands so far, by name and collection."""
            seen = counts_by_command(commands_file).get(DUMPS, 0)
            os.kill(pid, signal.SIGUSR1)
            deadline = time.monotonic() + 10
            while (now := counts_by_command(commands_file)).get(DUMPS, 0) == seen:
                assert time.monotonic() < deadline, "identity wrote no command counts"
                await asyncio.sleep(0.05)
            return now

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
            tokens: list[str] = []

            async def grant() -> None:
                async with http.post(f"{url}/v1/sessions/refresh",
                                     json={"refresh_token": tokens[-1]}) as r:
                    body = await r.json()
                    assert r.status == 200, body
                tokens.append(body["refresh_token"])

            if not counted:
                out["raw"] = await raw_verify(n_logins)
                out["logins"] = await _timed(n_logins, 2 * CORES, login, pid)
                tokens.append(sessions[-1]["refresh_token"])
                out["refresh"] = await _timed(n_refresh, 1, grant, pid)
                return out
            # Counted: the idle background first, then each kind of request on its own.
            idle_s = 5.0
            a = await commands()
            await asyncio.sleep(idle_s)
            b = await commands()
            idle = difference(b, a)
            out["idle_per_s"] = _per(idle, idle_s)
            for name, n, in_flight, call in (("per_login", n_logins, 2 * CORES, login),
                                             ("per_refresh", n_refresh, 1, grant)):
                if name == "per_refresh":
                    tokens.append(sessions[-1]["refresh_token"])
                a = await commands()
                start = time.monotonic()
                await _timed(n, in_flight, call, pid)
                b = await commands()
                # less what identity sent on its own meanwhile, at its idle rate
                seconds = time.monotonic() - start
                own = {k: v - idle.get(k, 0) / idle_s * seconds
                       for k, v in difference(b, a).items()}
                out[name] = {k: v for k, v in _per(own, n).items() if v >= 0.05}
            return out
    finally:
        identity.stop()
        commands_file.unlink(missing_ok=True)
        client = mongo.connect(config.mongodb_url)
        await client.drop_database(f"bench_{unique}_identity")
        await client.close()
        await delete_topology(config.amqp_url, Topology(config.bus_prefix, "identity"),
                              [0.2, 0.5, 1.0])


def _start_counted(identity: ServiceProcess) -> None:
    """The service as ``ServiceProcess.start`` starts it, under ``bench.counted``."""
    identity.proc = subprocess.Popen(
        [sys.executable, "-m", "bench.counted", f"services.{identity.name}", "all"],
        cwd=ROOT, env=identity.env, stdout=identity.log_path.open("ab"),
        stderr=subprocess.STDOUT)


def _per(counts: dict[str, int], n: float) -> dict[str, float]:
    return {k: round(v / n, 2) for k, v in counts.items()}


def _round_trips(per: dict[str, float]) -> dict[str, Any]:
    """A request's own MongoDB commands (identity's idle rate subtracted)."""
    return {"total": round(sum(per.values()), 1), "by_command": per}


@register("identity")
async def identity_logins(config: BenchConfig) -> dict[str, Any]:
    n_logins = max(60, min(config.n // 20, 300))
    n_refresh = max(300, min(config.n // 2, 3000))
    timed = await _run_identity(config, n_logins=n_logins, n_refresh=n_refresh, counted=False)
    counted = await _run_identity(config, n_logins=40, n_refresh=200, counted=True)
    raw, logins, refresh = timed["raw"], timed["logins"], timed["refresh"]
    ratio = logins["per_identity_cpu_s"] / raw["per_cpu_s"]
    machine_ratio = logins["per_s_per_core_machine"] / raw["per_s_per_core"]
    return {
        "benchmark": "identity",
        "logins": {**logins, "event_loop_target_ms": LOOP_CPU_TARGET_MS,
                   "mongodb_round_trips": _round_trips(counted["per_login"])},
        "baseline_argon2id_verify": {"n": n_logins, "parameters": "m=19 MiB, t=2, p=1",
                                     "per_cpu_s": round(raw["per_cpu_s"], 1),
                                     "per_s_per_core_machine": round(raw["per_s_per_core"], 1)},
        "ratio": round(ratio, 3), "target_ratio": LOGIN_TARGET_RATIO,
        "meets_target": ratio >= LOGIN_TARGET_RATIO,
        "ratio_machine_wide": round(machine_ratio, 3),
        "refresh_grants": {**refresh, "target_per_identity_cpu_s": REFRESH_TARGET_PER_S,
                           "meets_target": refresh["per_identity_cpu_s"] >= REFRESH_TARGET_PER_S,
                           "mongodb_round_trips": _round_trips(counted["per_refresh"])},
        "identity_idle_mongodb_commands_per_s": counted["idle_per_s"],
        "machine": {"cores": CORES, "load_1m": os.getloadavg()[0]},
        "measured_at": datetime.now(UTC).isoformat(),
    }
