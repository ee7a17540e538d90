"""What the benchmarks share: latency recording, percentiles, a closed-loop driver, CPU
accounting of the processes involved, MongoDB per-command timings, and broker clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pymongo import AsyncMongoClient, monitoring

from shared import mongo
from tests.support.broker import delete_broker_objects  # noqa: F401 (benchmarks delete what they declare)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cores": os.cpu_count(), "python": platform.python_version(),
                            "implementation": platform.python_implementation(),
                            "platform": sys.platform}
    # other work on the machine skews the figures: say how busy it was
    with contextlib.suppress(OSError):
        info["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return info


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Recorder:
    """End-to-end latencies of one phase: start when the producer starts an event, finish
    when the consumer is done with it. Times are ``time.perf_counter()`` of this process."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.latencies: dict[str, float] = {}
        self.duplicates = 0
        self.first_start: float | None = None
        self.last_done: float | None = None
        self.first_done: float | None = None
        self.produced = 0
        self.producer_done: float | None = None
        self.max_backlog = 0  # produced (command/publish returned) but not yet consumed
        self.done = asyncio.Event()

    def start(self) -> float:
        t = time.perf_counter()
        if self.first_start is None:
            self.first_start = t
        return t

    def produced_one(self) -> None:
        self.produced += 1
        self.max_backlog = max(self.max_backlog, self.produced - len(self.latencies))

    def finish(self, key: str, started: float) -> None:
        now = time.perf_counter()
        if key in self.latencies:
            self.duplicates += 1
            return
        self.latencies[key] = now - started
        self.last_done = now
        if self.first_done is None:
            self.first_done = now
        if len(self.latencies) >= self.expected:
            self.done.set()

    def producer_finished(self) -> None:
        self.producer_done = time.perf_counter()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.done.wait(), seconds)
            return True
        except TimeoutError:
            return False

    def summary(self) -> dict[str, Any]:
        lat = list(self.latencies.values())
        count = len(lat)
        elapsed = ((self.last_done or 0.0) - (self.first_start or 0.0)) if count else 0.0
        return {
            "events_per_s": round(count / elapsed, 1) if elapsed > 0 else 0.0,
            "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p99_ms": round(percentile(lat, 99) * 1000, 2),
            "max_ms": round(max(lat) * 1000, 2) if lat else float("nan"),
            "elapsed_s": round(elapsed, 3),
            # how long the producer took to hand over all N (commands or confirmed publishes)
            "producer_s": round(self.producer_done - self.first_start, 3)
            if self.producer_done and self.first_start else None,
            "consumed": count,
            "complete": count >= self.expected,
            "duplicates": self.duplicates,
            "max_backlog": self.max_backlog,
            # when the first event was done, from the first start: a burst's backlog drains
            # while it arrives when this is far below producer_s
            "first_consumed_s": round(self.first_done - self.first_start, 3)
            if self.first_done and self.first_start else None,
        }


async def drive(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """Run ``one(0..n-1)`` with at most ``concurrency`` in flight (a closed loop)."""
    items = iter(range(n))

    async def worker() -> None:
        for i in items:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, n)))))


# -- CPU accounting -----------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _mongo_emulator_pid(url: str) -> int | None:
    """The local nx-27017 process serving ``url`` (found by its port), if that is what we use."""
    try:
        port = str(urlparse(url).port or 27017).encode()
    except ValueError:
        return None
    for pid in _pids():
        args = _cmdline(pid).split(b"\0")
        if any(b"nx" in a for a in args[:2]) and any(
                a in (b"-p", b"--port") and i + 1 < len(args) and args[i + 1] == port
                for i, a in enumerate(args)):
            return pid
    return None


def _pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _rabbitmq_pid() -> int | None:
    for pid in _pids():
        cmd = _cmdline(pid)
        if b"beam" in cmd and b"rabbit" in cmd:
            return pid
    return None


class CpuMeter:
    """CPU seconds spent by this process, the MongoDB emulator and RabbitMQ over a phase."""

    def __init__(self, mongodb_url: str) -> None:
        self.pids = {"bench_process": os.getpid(),
                     "mongodb_emulator": _mongo_emulator_pid(mongodb_url),
                     "rabbitmq": _rabbitmq_pid()}
        self._start: dict[str, float | None] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._start = {k: (_cpu_seconds(p) if p else None) for k, p in self.pids.items()}

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self._t0
        out: dict[str, Any] = {"wall_s": round(wall, 3)}
        for k, p in self.pids.items():
            before, after = self._start.get(k), (_cpu_seconds(p) if p else None)
            if before is not None and after is not None:
                out[f"{k}_cpu_s"] = round(after - before, 2)
                out[f"{k}_cores"] = round((after - before) / wall, 2) if wall > 0 else None
        return out


# -- MongoDB ------------------------------------------------------------------------------
class CommandTimings(monitoring.CommandListener):
    """Count and total duration of each MongoDB command (round trip seen by the driver)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.micros: dict[str, int] = defaultdict(int)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.count[event.command_name] += 1
        self.micros[event.command_name] += event.duration_micros

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.count[f"{event.command_name}(failed)"] += 1
        self.micros[f"{event.command_name}(failed)"] += event.duration_micros

    def summary(self, per: int) -> dict[str, Any]:
        return {name: {"count": c, "per_event": round(c / per, 2),
                       "mean_ms": round(self.micros[name] / c / 1000, 3),
                       "total_s": round(self.micros[name] / 1e6, 3)}
                for name, c in sorted(self.count.items(), key=lambda kv: -kv[1])}


def mongo_client(url: str, timings: CommandTimings | None) -> AsyncMongoClient:
    """The kit's client (``shared.mongo.connect``); with ``timings``, the same options plus a
    command listener."""
    if timings is None:
        return mongo.connect(url)
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000,
                            connectTimeoutMS=5000, appname="bap-bench",
                            event_listeners=[timings])


