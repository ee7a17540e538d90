"""Reading an uploaded invitation file in a child process of its own (issue 9, review H1).

Parsing holds the GIL: in a thread of identity, one hostile file slowed every request of the
process, and its memory was identity's. Each upload is read instead by a short-lived child,
forked from a server process that imported the parser once (multiprocessing's forkserver;
a fork costs milliseconds where a fresh interpreter costs 0.4 s of CPU). The child limits
itself first: CPU seconds (``RLIMIT_CPU``; SIGXCPU ends the parse, the hard limit two seconds
later ends the child) and memory (``RLIMIT_AS``, above what it holds when it starts), then
sends one answer and exits, handing its memory back.

``parse`` is blocking (it waits for the child): run it in a thread. This module imports only
the domain, as the forkserver imports it before every fork.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import resource
import signal
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from services.identity.domain import invitation_files as inv
from services.identity.domain.errors import InvitationFileInvalid

_MP = multiprocessing.get_context("forkserver")


@dataclass(frozen=True)
class Budget:
    """What one file may cost its child: CPU seconds and megabytes beyond its start."""

    cpu_seconds: float
    memory_mb: int


@dataclass
class Outcome:
    """A child's answer: the rows, or the problem to answer with; what the child used."""

    rows: list[inv.Row] | None = None
    problem: dict[str, Any] | None = None
    cpu_seconds: float = 0.0
    peak_extra_mb: float = 0.0
    killed: bool = False

    def result(self) -> list[inv.Row]:
        if self.rows is not None:
            return self.rows
        p = self.problem or {}
        raise InvitationFileInvalid(p.get("detail"), slug=p.get("slug"), **p.get("extra", {}))


def start() -> None:
    """Start the fork server with the parser imported (once per process; idempotent)."""
    _MP.set_forkserver_preload([__name__])
    multiprocessing.forkserver.ensure_running()


def parse(content: bytes, kind: str, max_rows: int, max_columns: int, budget: Budget,
          started: list[BaseProcess] | None = None) -> Outcome:
    """Read ``content`` in a child; blocks until it answers, or kills it after a wall-clock
    bound (a child waiting on nothing uses no CPU, so RLIMIT_CPU alone would never end it).
    ``started`` receives the child, so that a caller giving up can kill it."""
    start()  # a no-op once running; without the preload every child would import the parser
    receive, send = _MP.Pipe(duplex=False)
    child = _MP.Process(target=_child, daemon=True, name="invitation-file",
                        args=(send, content, kind, max_rows, max_columns, budget))
    with receive:
        child.start()
        send.close()
        if started is not None:
            started.append(child)
        try:
            outcome: Outcome
            if receive.poll(budget.cpu_seconds * 3 + 10):
                outcome = receive.recv()  # our own child's one answer
            else:
                outcome = _too_costly(killed=True)
        except (EOFError, OSError):  # killed by its hard CPU limit, or by the caller
            outcome = _too_costly(killed=True)
    child.kill()
    child.join(5)
    return outcome


def _too_costly(killed: bool = False) -> Outcome:
    return Outcome(problem={"slug": "invitation-file-too-costly", "detail": (
        "Reading the file took more time or memory than a file of the row cap needs. Save "
        "only the table of people to invite (a new workbook, or CSV) and upload it again.")},
        killed=killed)


class _OutOfTime(BaseException):
    """Raised by SIGXCPU; not an ``Exception``, so no reader's ``except Exception`` hides it."""


def _out_of_time(signum: int, frame: object) -> None:
    raise _OutOfTime()


def _child(send: multiprocessing.connection.Connection, content: bytes, kind: str,
           max_rows: int, max_columns: int, budget: Budget) -> None:
    """The child's whole life: limits first, then the file, then one answer."""
    signal.signal(signal.SIGXCPU, _out_of_time)
    soft = math.ceil(_cpu() + budget.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
    start_kb = _status_kb("VmRSS")
    limit = (_status_kb("VmSize") + budget.memory_mb * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        outcome = Outcome(rows=inv.read_table(content, kind, max_rows, max_columns))
    except InvitationFileInvalid as e:
        outcome = Outcome(problem={"detail": e.detail, "slug": e.slug, "extra": e.extra})
    except (MemoryError, _OutOfTime):
        outcome = _too_costly()
    del content
    outcome.cpu_seconds = _cpu()
    outcome.peak_extra_mb = max(0, _status_kb("VmHWM") - start_kb) / 1024
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    send.send(outcome)
    send.close()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith(key + ":")).split()[1])
