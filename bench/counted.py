"""``python -m bench.counted services.<name> [args]``: run a service as ``python -m`` would,
counting every MongoDB command its clients send (pymongo's global command monitoring).

On SIGUSR1 the counts so far (and ``_dumps``, how many times they were written) are written
as JSON to ``$BENCH_COMMANDS_FILE`` (replaced whole), so a benchmark reads round trips per
request in a real service process: signal, read, run the phase, signal, read, subtract.
Counting costs the service some CPU, so benchmarks count in a run of their own, never in the
one whose CPU they report.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
from collections import Counter
from pathlib import Path

from pymongo import monitoring

DUMPS = "_dumps"  # the key counting the dumps written so far


class _Counter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        # "find users", "insert refresh_tokens": the collection a command names, if any.
        target = event.command.get(event.command_name)
        self.counts[f"{event.command_name} {target}" if isinstance(target, str)
                    else event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.counts[f"{event.command_name} (failed)"] += 1


def counts_by_command(path: Path) -> dict[str, int]:
    """What the last SIGUSR1 wrote (empty before the first)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The commands sent between two dumps."""
    return {k: after[k] - before.get(k, 0) for k in sorted(after)
            if k != DUMPS and after[k] - before.get(k, 0) > 0}


def main() -> None:
    counter = _Counter()
    monitoring.register(counter)  # before any client exists: every client reports to it
    out = Path(os.environ["BENCH_COMMANDS_FILE"])

    dumps = 0

    def dump(signum: int, frame: object) -> None:
        nonlocal dumps
        dumps += 1  # tells a reader this answer from the previous one
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({**counter.counts, DUMPS: dumps}))
        tmp.replace(out)  # a reader never sees half a file

    signal.signal(signal.SIGUSR1, dump)
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
