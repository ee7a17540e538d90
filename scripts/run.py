"""`make run`: the whole platform in one terminal; Ctrl-C stops everything it started.

So do `kill` (SIGTERM) and closing the terminal (SIGHUP): the services get SIGINT and
RUN_STOP_GRACE_SECONDS (default 15) to stop, then are killed; the MongoDB emulator is stopped
after them. Ports and data: MONGO_PORT (27117), <SERVICE>_HTTP_PORT (8001-8004) and
RUN_MONGO_DATA (the emulator's data directory under var/, default ``mongo``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from scripts.infra import ROOT, Infrastructure, port_open

DEFAULT_PORTS = [("identity", 8001), ("billing", 8002), ("contracts", 8003),
                 ("notifications", 8004)]
# Each service reads <NAME>_HTTP_PORT itself; the runner reads it too, to wait for it.
SERVICES = [(name, int(os.environ.get(f"{name.upper()}_HTTP_PORT") or port))
            for name, port in DEFAULT_PORTS]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """A signal asked the runner to stop everything it started."""


def _on_stop_signal(signum: int, _frame: object) -> None:
    # Once is enough: a second signal must not interrupt the stopping of the children.
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Stop(signal.Signals(signum).name)


def _say(*args: object, **kwargs: object) -> None:
    # The terminal may be gone (SIGHUP): never let a failed print skip stopping the children.
    with contextlib.suppress(OSError, ValueError):
        print(*args, **kwargs, flush=True)


def _stop(procs: list[subprocess.Popen], grace: float) -> None:
    """SIGINT to every service, then SIGKILL to the process group of each still running."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"a service (pid {p.pid}) did not stop within {grace:.0f}s; killing it",
                 file=sys.stderr)
        # What a service started (identity's parser fork server) is in its process group (its
        # own: start_new_session) and may outlive it by a moment: the group goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m"]


def _pump(name: str, colour: str, stream) -> None:
    tty = sys.stdout.isatty()
    tag = f"{colour}{name:>13}\033[0m |" if tty else f"{name:>13} |"
    for line in iter(stream.readline, ""):
        try:
            sys.stdout.write(f"{tag} {line}")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass  # the terminal is gone: keep reading, so the service never blocks on a full pipe


def main() -> None:
    procs: list[subprocess.Popen] = []
    grace = float(os.environ.get("RUN_STOP_GRACE_SECONDS") or 15)
    for s in STOP_SIGNALS:
        signal.signal(s, _on_stop_signal)
    infra = Infrastructure(os.environ.get("RUN_MONGO_DATA") or "mongo",
                           int(os.environ.get("MONGO_PORT", "27117")))
    try:
        _run(infra, procs)
    except (Stop, KeyboardInterrupt):
        _say("\nstopping…")
    finally:
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)  # nothing interrupts the stopping
        _stop(procs, grace)
        infra.__exit__(None, None, None)  # the emulator, after the services that use it


def _unblock_stop_signals() -> None:
    # In the child, before exec: it inherits the mask blocked around Popen, and a service
    # whose stop signals stay blocked never sees them (it would be killed after the grace).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _run(infra: Infrastructure, procs: list[subprocess.Popen]) -> None:
    # Entered by hand: a signal while the emulator starts must still stop it (main's finally).
    env = infra.__enter__()
    base = {**os.environ, **env, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
            "PYTHONUNBUFFERED": "1"}
    base.setdefault("NOTIFICATIONS_MAIL_DIR", str(ROOT / "var" / "mail"))
    base.setdefault("JWKS_URL", f"http://127.0.0.1:{SERVICES[0][1]}/.well-known/jwks.json")
    for (name, port), colour in zip(SERVICES, COLOURS, strict=False):
        if port_open("127.0.0.1", port):
            sys.exit(f"port {port} for {name} is taken: is `make run` already up?")
        # No signal between starting a service and recording it (it would be orphaned).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}", "all"], cwd=ROOT, env=base,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True, preexec_fn=_unblock_stop_signals)
            procs.append(proc)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        threading.Thread(target=_pump, args=(name, colour, proc.stdout),
                         daemon=True).start()
    deadline = time.monotonic() + 60
    for name, port in SERVICES:
        while not port_open("127.0.0.1", port):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                sys.exit(f"{name} did not start; see its log lines above")
            time.sleep(0.2)
    _say("\nThe platform is up:")
    for name, port in SERVICES:
        _say(f"  {name:<14} http://127.0.0.1:{port}  (docs: /docs, health: /health/ready)")
    _say(f"  emails         written to {base['NOTIFICATIONS_MAIL_DIR']}/*.eml")
    _say("Ctrl-C stops everything.\n")
    while all(p.poll() is None for p in procs):
        time.sleep(0.5)
    _say("a service stopped; stopping the rest", file=sys.stderr)


if __name__ == "__main__":
    main()
