"""Services as real processes (``python -m services.<name>``) for end-to-end tests, each with
its own database, bus prefix, port and log file: the one way a test starts a real process of
a service (``ServiceProcess``; ``service_process`` starts one and removes what it made)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.support.polling import eventually

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "billing", "contracts", "notifications")
RETRY_DELAYS = [0.2, 0.5, 1.0]  # what ``platform_env`` configures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", f"services.{self.name}", "all"],
                                     cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    async def wait_ready(self, seconds: float = 60) -> None:
        async with aiohttp.ClientSession() as session:
            async def ready() -> bool:
                assert self.proc is not None and self.proc.poll() is None, (
                    f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/health/ready") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(ready, seconds, 0.2, message=lambda: (
                f"{self.name} ready:\n{self.log_path.read_text()[-3000:]}"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log_lines(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                lines.append({"unparsed": raw})
        return lines


@dataclass
class Platform:
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def all_log_text(self) -> str:
        return "\n".join(s.log_path.read_text() for s in self.services.values())


def platform_env(*, mongo_url: str, amqp_url: str, bus_prefix: str, db_prefix: str,
                 ports: dict[str, int], extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        tuple(f"{s.upper()}_" for s in SERVICES))}
    env.update({
        "MONGODB_URL": mongo_url, "AMQP_URL": amqp_url, "BUS_PREFIX": bus_prefix,
        "JWKS_URL": f"http://127.0.0.1:{ports['identity']}/.well-known/jwks.json",
        "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "PYTHONUNBUFFERED": "1",
        "BAP_DEV_MODE": "true",
    })
    for name in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_HTTP_PORT"] = str(ports[name])
        env[f"{prefix}_DATABASE"] = f"{db_prefix}_{name}"
        env[f"{prefix}_RETRY_DELAYS"] = json.dumps(RETRY_DELAYS)
        env[f"{prefix}_RELAY_POLL_SECONDS"] = "0.5"
    env.update(extra)
    return env


async def remove_traces(mongo_url: str, amqp_url: str, bus_prefix: str, db_prefix: str,
                        names: tuple[str, ...] = SERVICES) -> None:
    """Drop the databases and queues the services ``names`` made under these prefixes."""
    from shared import mongo
    from shared.bus import Topology
    from tests.support.broker import delete_topology

    client = mongo.connect(mongo_url)
    for name in names:
        await client.drop_database(f"{db_prefix}_{name}")
    await client.close()
    for name in names:
        await delete_topology(amqp_url, Topology(bus_prefix, name), RETRY_DELAYS)


@contextlib.asynccontextmanager
async def service_process(name: str, *, mongo_url: str, amqp_url: str, bus_prefix: str,
                          db_prefix: str, log_path: Path, extra: dict[str, str] | None = None
                          ) -> AsyncIterator[ServiceProcess]:
    """Service ``name`` as a real process, ready; stopped afterwards, its database and queues
    removed. ``extra`` adds to its environment."""
    ports = {s: free_port() for s in SERVICES}
    env = platform_env(mongo_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                       db_prefix=db_prefix, ports=ports, extra=extra or {})
    service = ServiceProcess(name, ports[name], env, log_path)
    service.start()
    try:
        await service.wait_ready()
        yield service
    finally:
        service.stop()
        await remove_traces(mongo_url, amqp_url, bus_prefix, db_prefix, (name,))
