"""Benchmarks run by `make bench` (``python -m bench``): each one writes a JSON result.

A benchmark is an async function ``(BenchConfig) -> dict`` registered under a name with
``@register("name")`` in a module listed in ``MODULES``; ``python -m bench`` imports those
modules, runs every registered benchmark (or those given with ``--only``), writes
``<out>/<name>.json`` and prints it. Add later benchmarks (identity logins, notifications)
as new modules and list them in ``MODULES``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Modules that register benchmarks; imported in this order, so results come out in it.
MODULES = ("bench.bus", "bench.identity", "bench.notifications", "bench.imports", "bench.flows")


@dataclass(frozen=True)
class BenchConfig:
    """What every benchmark gets: sizes and where the infrastructure is."""

    n: int = 5000
    warmup: int = 200
    concurrency: int = 100
    mongodb_url: str = "mongodb://127.0.0.1:27119"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Every queue and exchange a benchmark declares starts with this (unique per run).
    bus_prefix: str = "bap-bench"
    # Extra diagnostics (per-command MongoDB timings, cProfile of the platform run).
    profile: bool = False
    out: Path = Path("bench/results")

    @classmethod
    def from_env(cls, **overrides: Any) -> BenchConfig:
        return cls(
            mongodb_url=os.environ.get("MONGODB_URL", cls.mongodb_url),
            amqp_url=os.environ.get("AMQP_URL", cls.amqp_url),
            bus_prefix=os.environ.get("BUS_PREFIX", cls.bus_prefix),
            **overrides,
        )


Benchmark = Callable[[BenchConfig], Awaitable[dict[str, Any]]]
REGISTRY: dict[str, Benchmark] = {}


def register(name: str) -> Callable[[Benchmark], Benchmark]:
    def decorate(fn: Benchmark) -> Benchmark:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} is registered twice")
        REGISTRY[name] = fn
        return fn

    return decorate


def load() -> dict[str, Benchmark]:
    for module in MODULES:
        importlib.import_module(module)
    return REGISTRY
