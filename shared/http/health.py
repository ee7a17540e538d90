"""What operations watch: ``/health/live``, ``/health/ready`` (every readiness check by
name) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.app_keys import METRICS, READINESS
from shared.http.problems import json_response

ReadinessCheck = Callable[[], Awaitable[bool] | bool]
# A readiness check that has not answered by then counts as failing (probes have timeouts too).
READINESS_TIMEOUT = 3.0


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/health/live", _live)
    app.router.add_get("/health/ready", _ready)
    app.router.add_get("/metrics", _metrics)


def add_readiness_check(app: web.Application, name: str, check: ReadinessCheck) -> None:
    """``/health/ready`` answers 503, naming ``name``, while ``check`` returns False."""
    app[READINESS][name] = check


async def _live(_request: web.Request) -> web.Response:
    return json_response({"status": "live"})


async def _ready(request: web.Request) -> web.Response:
    checks = {}
    for name, check in list(request.app[READINESS].items()):
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, READINESS_TIMEOUT)
            checks[name] = "ok" if result else "failing"
        except Exception:  # includes the timeout: a check that hangs is not ready
            checks[name] = "failing"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    body: dict[str, Any] = {"status": "not ready" if failing else "ready", "checks": checks}
    if failing:
        body["failing"] = failing
    return json_response(body, status=503 if failing else 200)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
