"""`make run` stops everything it started, however it is stopped: Ctrl-C (SIGINT), `kill`
(SIGTERM) or the terminal closing (SIGHUP, and the terminal gone for every later write)."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration



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

        # Each service stopped on its own signal, within the grace period (none was killed).
        assert b"did not stop within" not in terminal.output, terminal.tail()
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
