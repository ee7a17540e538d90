"""Local infrastructure for `make run`, `make test` and `make bench`.

MongoDB: the nx-27017 wire-protocol server on its own port, pid file and data under var/,
unless MONGODB_URL is set. RabbitMQ: checked, started with `rabbitmq-server -detached` when
installed but down, unless AMQP_URL is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(host, port):
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not answer on {host}:{port} within {seconds:.0f}s")
        time.sleep(0.2)


class MongoEmulator:
    """nx-27017 as a child process; stopped by ``stop`` (also on Ctrl-C)."""

    def __init__(self, name: str, port: int) -> None:
        self.port = port
        self.data = VAR / name
        self.pid_file = VAR / f"{name}.pid"
        self.log_file = VAR / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        if port_open("127.0.0.1", self.port):
            sys.exit(f"port {self.port} is taken by something else; set MONGODB_URL or free it")
        exe = Path(sys.executable).with_name("nx-27017")
        self.proc = subprocess.Popen(
            [str(exe), "--host", "127.0.0.1", "-p", str(self.port), "--data-dir", str(self.data),
             "--pid-file", str(self.pid_file), "--log-file", str(self.log_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port("127.0.0.1", self.port, 30, "the MongoDB emulator (nx-27017)")
        print(f"MongoDB emulator nx-27017 on {self.url} (data {self.data.relative_to(ROOT)})",
              flush=True)

    def _stop_stale(self) -> None:
        # A previous run killed hard leaves its pid file: stop that process if it is ours.
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        if b"nx" in cmdline and str(self.data).encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.pid_file.unlink(missing_ok=True)


def ensure_rabbitmq() -> str:
    """The AMQP URL to use, after making sure a broker answers there."""
    url = os.environ.get("AMQP_URL")
    if url:
        u = urlparse(url)
        wait_port(u.hostname or "127.0.0.1", u.port or 5672, 30, "RabbitMQ at AMQP_URL")
        return url
    if not port_open("127.0.0.1", 5672):
        server = shutil.which("rabbitmq-server") or (
            "/usr/sbin/rabbitmq-server" if Path("/usr/sbin/rabbitmq-server").exists() else None)
        if server is None:
            sys.exit("RabbitMQ is not running on 127.0.0.1:5672 and is not installed.\n"
                     "Install it (Debian/Ubuntu: `sudo apt-get install rabbitmq-server`) or set "
                     "AMQP_URL to a broker you run elsewhere.")
        print("RabbitMQ is down; starting it with `rabbitmq-server -detached`", flush=True)
        subprocess.run([server, "-detached"], check=False)
        wait_port("127.0.0.1", 5672, 90, "RabbitMQ")
        time.sleep(2)  # the port opens a moment before the broker accepts logins
    return "amqp://guest:guest@127.0.0.1:5672/"


class Infrastructure:
    """MongoDB and RabbitMQ for one command; what it started, it stops."""

    def __init__(self, name: str, port: int, throwaway: bool = False) -> None:
        self.mongo = None if os.environ.get("MONGODB_URL") else MongoEmulator(name, port)
        self.throwaway = throwaway

    def __enter__(self) -> dict[str, str]:
        # make run, make test and make bench run on development defaults (peppers, keys, the
        # card sandbox); a service started any other way refuses them.
        env = {"AMQP_URL": ensure_rabbitmq(), "BAP_DEV_MODE": os.environ.get("BAP_DEV_MODE",
                                                                           "true")}
        if self.mongo is not None:
            self.mongo.start()
            env["MONGODB_URL"] = self.mongo.url
        else:
            env["MONGODB_URL"] = os.environ["MONGODB_URL"]
        return env

    def __exit__(self, *exc: object) -> None:
        if self.mongo is not None:
            self.mongo.stop()
            if self.throwaway:
                shutil.rmtree(self.mongo.data, ignore_errors=True)
                self.mongo.log_file.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tests(pytest_args: list[str]) -> int:
    # Each test run gets its own emulator on a free port, so runs never meet (nor `make run`).
    port = int(os.environ.get("TEST_MONGO_PORT") or free_port())
    with Infrastructure(f"test-mongo-{port}", port, throwaway=True) as env:
        env["BUS_PREFIX"] = f"bap-test-{uuid.uuid4().hex[:8]}"
        env["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", "INFO")
        code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args],
                               env={**os.environ, **env}, cwd=ROOT)
    return code


def run_bench(args: list[str]) -> int:
    with Infrastructure("bench-mongo", int(os.environ.get("BENCH_MONGO_PORT", "27119"))) as env:
        env["BUS_PREFIX"] = f"bap-bench-{uuid.uuid4().hex[:8]}"
        return subprocess.call([sys.executable, "-m", "bench", *args],
                               env={**os.environ, **env}, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.infra")
    parser.add_argument("command", choices=["test", "bench"])
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args()
    args = [a for a in ns.args if a != "--"] if ns.args[:1] == ["--"] else ns.args
    code = run_tests(args) if ns.command == "test" else run_bench(args)
    sys.exit(code)


if __name__ == "__main__":
    main()
