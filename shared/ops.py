"""Operator commands for a service's parking queue: look at what could not be processed, and
send it back to the service once the cause is fixed.

    python -m shared.ops --service billing parked list
    python -m shared.ops --service billing parked show 2          # by the index `list` prints
    python -m shared.ops --service billing parked show --id EVENT-ID
    python -m shared.ops --service billing parked replay --id EVENT-ID [--id ...]
    python -m shared.ops --service billing parked replay --reason handler-failed
    python -m shared.ops --service billing parked replay --all

The broker comes from ``AMQP_URL`` and the names from ``BUS_PREFIX`` (default ``bap``), as for
the services themselves (``--prefix`` overrides it).

How the queue is read without changing it: every message is fetched with ``basic.get`` and
not acknowledged, then the channel is closed, which hands all of them back to the queue; the
command returns only once they are back, so the next command sees every one. The whole
queue is always fetched (also for ``--limit`` and ``show``). The parking queue is a durable
classic queue: a classic queue puts a returned message back in its place and keeps no
delivery count, so looking never spends a delivery attempt (a quorum queue counts every
return, and RabbitMQ 4 drops a message returned 20 times). A parking queue left as a quorum
queue by an older release still works, but each look then counts: migrate it (README).

Every body can be listed, shown and replayed: nested too deeply to parse, binary, not UTF-8,
large or empty. What is printed has its control characters escaped (a body or a header may
hold terminal escape sequences).

Replay republishes each chosen message to the service's queue through the default exchange
(routing key = the queue's name), with ``x-attempts`` back to 0 and the ``x-park-*`` and
dead-letter headers removed, and acknowledges the parked copy only once the broker has
confirmed the new one. A failure part-way leaves the rest parked; running it again is safe
(at worst a message is delivered twice, which consumers absorb).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import IO

import aio_pika

from shared.bus.topology import Topology
from shared.config import ServiceSettings
from shared.ops_format import format_list, format_show
from shared.ops_format import progress_bar as _progress
from shared.parking import OpsError, ParkedMessage, find_parked, list_parked, replay

__all__ = ["OpsError", "ParkedMessage", "_progress", "build_parser", "find_parked",
           "format_list", "format_show", "list_parked", "main", "replay", "run"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.ops",
        description="Inspect and replay a service's parked events. Broker from AMQP_URL, "
                    "names from BUS_PREFIX.")
    parser.add_argument("--service", required=True, help="the service, e.g. billing")
    parser.add_argument("--prefix", help="queue name prefix (default: BUS_PREFIX or 'bap')")
    area = parser.add_subparsers(dest="area", required=True)
    parked = area.add_parser("parked", help="the service's parking queue")
    cmd = parked.add_subparsers(dest="command", required=True)

    ls = cmd.add_parser("list", help="one line per parked message; nothing is removed")
    ls.add_argument("--limit", type=int, help="show at most this many")

    show = cmd.add_parser("show", help="headers and body of one parked message")
    which = show.add_mutually_exclusive_group(required=True)
    which.add_argument("index", nargs="?", type=int, help="its number in `list`")
    which.add_argument("--id", dest="message_id", help="its message id")
    show.add_argument("--full", action="store_true", help="print a large body whole")
    show.add_argument("--reveal", action="store_true",
                      help="print codes, tokens and passwords in the body (masked otherwise)")

    rp = cmd.add_parser("replay", help="send parked messages back to the service's queue")
    rp.add_argument("--id", dest="ids", action="append", metavar="ID",
                    help="a message id (repeat for several)")
    rp.add_argument("--all", action="store_true", help="every parked message (with --reason: "
                                                       "every one with that reason)")
    rp.add_argument("--reason", help="only messages parked for this reason, e.g. handler-failed")
    rp.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


async def run(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    settings = ServiceSettings()
    topology = Topology(args.prefix or settings.bus_prefix, args.service)
    url = settings.amqp_url
    if args.command == "list":
        print(format_list(await list_parked(url, topology, limit=args.limit), topology), file=out)
    elif args.command == "show":
        parked = await find_parked(url, topology, index=args.index, message_id=args.message_id)
        print(format_show(parked, full=args.full, reveal=args.reveal), file=out)
    elif args.command == "replay":
        if args.ids and args.all:
            raise OpsError("give --id or --all, not both")
        if not (args.ids or args.all or args.reason):
            raise OpsError("say what to replay: --id ID, --reason REASON or --all")
        moved = await replay(url, topology, ids=args.ids, reason=args.reason,
                             progress=not args.no_progress)
        print(f"replayed {moved} message{'s' if moved != 1 else ''} from {topology.parked} "
              f"to {topology.queue}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(run(args))
    except OpsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (aio_pika.exceptions.AMQPConnectionError, OSError) as e:
        print(f"error: the broker is not reachable: {e}", file=sys.stderr)
        return 2
    except (aio_pika.exceptions.AMQPError, TimeoutError) as e:
        # E.g. a republication refused part-way: what was not moved is still parked.
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
