"""`make run` stops everything it started, however it is stopped: Ctrl-C (SIGINT), `kill`
(SIGTERM) or the terminal closing (SIGHUP, and the terminal gone for every later write)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.bus import Topology
from shared.config import ServiceSettings
from tests.support.broker import delete_topology
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "billing", "contracts", "notifications")
# Retry queues each service declares (notifications has its own back-off).
RETRY_DELAYS = {"notifications": [2.0, 8.0, 32.0, 128.0, 512.0]}


class Terminal:
    """A pseudo-terminal the runner writes to, read without threads; ``hang_up`` closes it."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = b""

    def read_for(self, seconds: float) -> None:
        if self.master < 0:
            return
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # EIO: every writer is gone
                time.sleep(seconds)

    def hang_up(self) -> None:
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                if fd >= 0:
                    os.close(fd)

    def tail(self) -> str:
        return self.output[-4000:].decode(errors="replace")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = {p for p, pp in parents.items() if pp == parent} - found
        found |= children
        todo.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has stopped; only its parent has not collected it yet


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def run_env(bus_prefix: str, unique: str, tmp_path: Path, amqp_url: str):
    ports = {name: free_port() for name in SERVICES}
    mongo_port = free_port()
    data = f"run-test-{unique}"
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"}  # its own emulator
    env.update({
        "AMQP_URL": amqp_url, "BUS_PREFIX": bus_prefix, "MONGO_PORT": str(mongo_port),
        "RUN_MONGO_DATA": data, "RUN_STOP_GRACE_SECONDS": "20", "LOG_FORMAT": "json",
        "NOTIFICATIONS_MAIL_DIR": str(tmp_path / "mail"),
        "NOTIFICATIONS_SMS_DIR": str(tmp_path / "sms"),
        **{f"{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()},
    })
    yield env, [*ports.values(), mongo_port]
    var = ROOT / "var"
    shutil.rmtree(var / data, ignore_errors=True)
    for leftover in (var / f"{data}.log", var / f"{data}.pid"):
        leftover.unlink(missing_ok=True)
    default_delays = ServiceSettings().retry_delays

    async def clean() -> None:
        for name in SERVICES:
            await delete_topology(amqp_url, Topology(bus_prefix, name),
                                  RETRY_DELAYS.get(name, default_delays))
    asyncio.run(clean())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_make_run_leaves_no_service_emulator_or_port_behind_when_stopped_by(signum, run_env):
    env, ports = run_env
    terminal = Terminal()
    runner = subprocess.Popen([sys.executable, "-m", "scripts.run"], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, stdout=terminal.slave,
                              stderr=terminal.slave, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while b"The platform is up" not in terminal.output:
            assert runner.poll() is None, f"make run ended early:\n{terminal.tail()}"
            assert time.monotonic() < deadline, f"make run not up in time:\n{terminal.tail()}"
            terminal.read_for(0.2)
        started = descendants(runner.pid)
        assert len(started) >= 5, started  # four services and the emulator
        assert all(port_open(p) for p in ports)

        if signum == signal.SIGHUP:
            terminal.hang_up()  # as a closed terminal window: every later write fails
        runner.send_signal(signum)
        deadline = time.monotonic() + 90
        while runner.poll() is None:
            assert time.monotonic() < deadline, f"make run still running:\n{terminal.tail()}"
            terminal.read_for(0.2)

        # The runner waited for its children, so none may be left, nor any port they held.
        left = {pid for pid in started if alive(pid)}
        assert not left, f"left running: {left}\n{terminal.tail()}"
        assert [p for p in ports if port_open(p)] == []
    finally:
        for pid in {*started, runner.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            runner.wait(10)
        terminal.close()
