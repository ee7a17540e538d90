"""The four services as real processes for end-to-end tests, each with its own database,
bus prefix, port and log file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "billing", "contracts", "notifications")


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
        deadline = asyncio.get_running_loop().time() + seconds
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc is not None and self.proc.poll() is None, (
                    f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/health/ready") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.name} not ready:\n"
                                         f"{self.log_path.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

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
        env[f"{prefix}_RETRY_DELAYS"] = "[0.2, 0.5, 1.0]"
        env[f"{prefix}_RELAY_POLL_SECONDS"] = "0.5"
    env.update(extra)
    return env
