"""`make run`: the whole platform in one terminal; Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from scripts.infra import ROOT, Infrastructure, port_open

SERVICES = [("identity", 8001), ("billing", 8002), ("contracts", 8003), ("notifications", 8004)]
COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m"]


def _pump(name: str, colour: str, stream) -> None:
    tty = sys.stdout.isatty()
    tag = f"{colour}{name:>13}\033[0m |" if tty else f"{name:>13} |"
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{tag} {line}")
        sys.stdout.flush()


def main() -> None:
    procs: list[subprocess.Popen] = []
    with Infrastructure("mongo", int(os.environ.get("MONGO_PORT", "27117"))) as env:
        base = {**os.environ, **env, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
                "PYTHONUNBUFFERED": "1"}
        base.setdefault("NOTIFICATIONS_MAIL_DIR", str(ROOT / "var" / "mail"))
        try:
            for (name, port), colour in zip(SERVICES, COLOURS):
                if port_open("127.0.0.1", port):
                    sys.exit(f"port {port} for {name} is taken: is `make run` already up?")
                proc = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}", "all"], cwd=ROOT, env=base,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    start_new_session=True)
                procs.append(proc)
                threading.Thread(target=_pump, args=(name, colour, proc.stdout),
                                 daemon=True).start()
            deadline = time.monotonic() + 60
            for name, port in SERVICES:
                while not port_open("127.0.0.1", port):
                    if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                        sys.exit(f"{name} did not start; see its log lines above")
                    time.sleep(0.2)
            print("\nThe platform is up:")
            for name, port in SERVICES:
                print(f"  {name:<14} http://127.0.0.1:{port}  (docs: /docs, health: /health/ready)")
            print(f"  emails         written to {base['NOTIFICATIONS_MAIL_DIR']}/*.eml")
            print("Ctrl-C stops everything.\n", flush=True)
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            print("a service stopped; stopping the rest", file=sys.stderr)
        except KeyboardInterrupt:
            print("\nstopping…", flush=True)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
