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
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared.bus import PUBLISH_TIMEOUT, Topology
from shared.config import ServiceSettings
from shared.logging import redact

# Headers that describe a parking (or the broker's dead-lettering), dropped on replay.
_PARK_PREFIXES = ("x-park-", "x-parked-", "x-first-death-", "x-last-death-")
_DROPPED = {"x-death", "x-delivery-count", "x-original-routing-key", "x-last-error"}
# Larger bodies are shown as they came, not parsed and indented (bounded cost of `show`).
PRETTY_MAX_BYTES = 4 * 1_048_576
# Only bodies up to this size are parsed to find an event type the message does not state.
TYPE_SNIFF_MAX_BYTES = 1_048_576
# How long a listing waits for the broker to put the messages it looked at back in the queue.
HAND_BACK_TIMEOUT = 10.0
# Characters never written to an operator's terminal as they are: C0/C1 controls (escape
# sequences), and the Unicode line separators and bidi overrides that disguise text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What the broker's own dead-lettering reasons (x-death) mean for an operator.
_DEATH_REASONS = {"delivery_limit": "delivery-limit", "rejected": "rejected",
                  "expired": "expired", "maxlen": "queue-full"}


class OpsError(Exception):
    """Something an operator must be told in plain words (exit code 2)."""


@dataclass
class ParkedMessage:
    """One message of a parking queue, as an operator sees it."""

    index: int  # 1-based position in the queue when it was read
    message_id: str | None
    type: str | None
    reason: str
    detail: str
    attempts: int | None
    parked_at: datetime | None
    headers: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)
    content_type: str | None = None
    correlation_id: str | None = None

    @classmethod
    def from_message(cls, index: int, message: AbstractIncomingMessage) -> ParkedMessage:
        headers = dict(message.headers or {})
        reason, detail = _reason(headers)
        attempts = headers.get("x-park-attempts")
        return cls(
            index=index,
            message_id=message.message_id,
            type=message.type or _body_type(message.body),
            reason=reason,
            detail=detail,
            attempts=int(attempts) if isinstance(attempts, int | float) else None,
            parked_at=_parked_at(headers),
            headers=headers,
            body=message.body,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
        )

    def pretty_body(self, limit: int | None = 20_000, *, reveal: bool = False) -> str:
        """The body as indented JSON when it is JSON, else as text; cut at ``limit`` chars.

        Secrets in it (codes, tokens, passwords: the keys the logs redact) are masked unless
        ``reveal``: a parked event may hold a reset link or a code that still works. Any body
        can be shown: one nested too deeply to parse, or too large to be worth indenting, is
        shown as it came; bytes that are not UTF-8 and control characters (a body could hold
        terminal escape sequences) are shown escaped.
        """
        text = None
        if len(self.body) <= PRETTY_MAX_BYTES:
            text = _json_text(self.body, indent=2, masked=not reveal)
        if text is None:
            text = self.body.decode("utf-8", errors="backslashreplace")
        text = _printable(text)
        if limit is not None and len(text) > limit:
            return (f"{text[:limit]}\n... ({len(self.body)} bytes in all; "
                    f"--full prints everything)")
        return text


# -- core, importable --------------------------------------------------------------------------
async def list_parked(url: str, topology: Topology, *,
                      limit: int | None = None) -> list[ParkedMessage]:
    """The messages parked for ``topology``'s service, oldest first; the queue is left as is."""
    connection = await _connect(url)
    try:
        channel = await connection.channel()
        messages: list[AbstractIncomingMessage] = []
        try:
            messages = await _fetch_all(channel, topology.parked)
            return [ParkedMessage.from_message(i, m)
                    for i, m in enumerate(messages[:limit], 1)]
        finally:
            await channel.close()  # hands every fetched message back, in order
            # The broker does that after it confirmed the close: return only once they are
            # back, so the next command (or a count of the queue) sees every one of them.
            await _wait_handed_back(connection, topology.parked, len(messages))
    finally:
        await connection.close()


async def find_parked(url: str, topology: Topology, *, index: int | None = None,
                      message_id: str | None = None) -> ParkedMessage:
    """One parked message by its ``list`` index or by its message id (OpsError if absent)."""
    if (index is None) == (message_id is None):
        raise ValueError("give an index or a message id")
    for parked in await list_parked(url, topology):
        if parked.index == index or (message_id is not None and parked.message_id == message_id):
            return parked
    wanted = f"index {index}" if index is not None else f"id {message_id}"
    raise OpsError(f"no parked message with {wanted} in {topology.parked}")


async def replay(url: str, topology: Topology, ids: Iterable[str] | None = None,
                 reason: str | None = None, progress: bool = True) -> int:
    """Move parked messages back to the service's queue; returns how many were moved.

    ``ids`` chooses by message id, ``reason`` by park reason (both: both must match; neither:
    every parked message). Each copy is acknowledged only after its republication is
    confirmed; what is not chosen stays parked, in its order.
    """
    wanted = set(ids) if ids is not None else None
    connection = await _connect(url)
    moved = kept = 0
    try:
        source = await connection.channel()
        target = await connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            queue = await _passive(source, topology.parked)
            await _passive(target, topology.queue)
            # Only what is parked now: a replayed message that fails at once and is parked
            # again comes behind these and is not picked up a second time.
            total = queue.declaration_result.message_count or 0
            bar = _progress(total, progress)
            try:
                for index in range(1, total + 1):
                    message = await queue.get(no_ack=False, fail=False, timeout=PUBLISH_TIMEOUT)
                    if message is None:
                        break
                    parked = ParkedMessage.from_message(index, message)
                    if _chosen(parked, wanted, reason):
                        await target.default_exchange.publish(
                            _replayed(message), routing_key=topology.queue,
                            timeout=PUBLISH_TIMEOUT)
                        await message.ack()  # only now: the new copy is confirmed
                        moved += 1
                        bar.set_postfix(moved=moved, refresh=False)
                    else:
                        kept += 1
                    bar.update(1)
            finally:
                bar.close()
        finally:
            await source.close()  # what was not chosen goes back, in order
            await target.close()
            await _wait_handed_back(connection, topology.parked, kept)
    finally:
        await connection.close()
    return moved


# -- formatting ----------------------------------------------------------------------------------
def format_list(parked: list[ParkedMessage], topology: Topology) -> str:
    if not parked:
        return f"no parked messages in {topology.parked}"
    rows = [("#", "message id", "type", "reason", "attempts", "parked at")]
    for p in parked:
        rows.append((str(p.index), _field(p.message_id), _field(p.type), _field(p.reason),
                     "-" if p.attempts is None else str(p.attempts), _time(p.parked_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.append(f"{len(parked)} parked message{'s' if len(parked) != 1 else ''} "
                 f"in {topology.parked}")
    return "\n".join(lines)


def format_show(p: ParkedMessage, *, full: bool = False, reveal: bool = False) -> str:
    lines = [
        f"message id:   {_field(p.message_id)}",
        f"type:         {_field(p.type)}",
        f"reason:       {_field(p.reason)}",
        f"attempts:     {'-' if p.attempts is None else p.attempts}",
        f"parked at:    {_time(p.parked_at)}",
        f"correlation:  {_field(p.correlation_id)}",
        f"size:         {len(p.body)} bytes ({_field(p.content_type or 'no content type')})",
        "detail:",
        *(f"  {line}" for line in _printable(p.detail or "-").splitlines()),
        "headers:",
        *(f"  {_field(k)}: {_header_text(v)}" for k, v in sorted(p.headers.items())
          if k not in ("x-park-detail",)),
        "body:",
        p.pretty_body(None if full else 20_000, reveal=reveal),
    ]
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------------
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


async def run(args: argparse.Namespace, out=None) -> int:
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


# -- internals ---------------------------------------------------------------------------------
async def _connect(url: str) -> aio_pika.abc.AbstractConnection:
    return await aio_pika.connect(url, timeout=10,
                                  client_properties={"connection_name": "bap-ops"})


async def _passive(channel: AbstractChannel, name: str) -> aio_pika.abc.AbstractQueue:
    try:
        return await channel.declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        raise OpsError(f"queue {name} does not exist (is the service name and BUS_PREFIX "
                       f"right? has the service run once?)") from None


async def _fetch_all(channel: AbstractChannel, name: str) -> list[AbstractIncomingMessage]:
    """Every message of the queue, unacknowledged (until empty; bounded if parking goes on)."""
    queue = await _passive(channel, name)
    cap = (queue.declaration_result.message_count or 0) + 1000
    messages = []
    while len(messages) < cap:
        message = await queue.get(no_ack=False, fail=False, timeout=PUBLISH_TIMEOUT)
        if message is None:
            break
        messages.append(message)
    return messages


def _chosen(p: ParkedMessage, ids: set[str] | None, reason: str | None) -> bool:
    if ids is not None and p.message_id not in ids:
        return False
    return reason is None or p.reason == reason


def _replayed(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items()
               if k not in _DROPPED and not k.startswith(_PARK_PREFIXES)}
    headers["x-attempts"] = 0
    headers["x-replays"] = int((message.headers or {}).get("x-replays", 0) or 0) + 1
    return aio_pika.Message(
        message.body,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        headers=headers,
    )


def _reason(headers: dict[str, Any]) -> tuple[str, str]:
    if "x-park-reason" in headers:
        return _text(headers["x-park-reason"]), _text(headers.get("x-park-detail", ""))
    death = _text(headers.get("x-first-death-reason", ""))
    if death:
        queue = _text(headers.get("x-first-death-queue", ""))
        return (_DEATH_REASONS.get(death, death),
                f"dead-lettered by the broker from {queue} ({death})")
    return "unknown", "no x-park-reason header (not parked by the bus)"


def _parked_at(headers: dict[str, Any]) -> datetime | None:
    value = headers.get("x-parked-at")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        when = deaths[0].get("time")
        if isinstance(when, datetime):
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


async def _wait_handed_back(connection: aio_pika.abc.AbstractConnection, name: str,
                            count: int) -> None:
    """Wait (bounded) until ``name`` holds at least ``count`` ready messages again."""
    if count == 0 or connection.is_closed:
        return
    deadline = asyncio.get_running_loop().time() + HAND_BACK_TIMEOUT
    while True:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
            if (queue.declaration_result.message_count or 0) >= count:
                return
        finally:
            await channel.close()
        if asyncio.get_running_loop().time() > deadline:
            return  # someone else took some meanwhile (a replay, a purge): nothing to wait for
        await asyncio.sleep(0.05)


def _json_text(body: bytes, indent: int | None = None, masked: bool = False) -> str | None:
    """``body`` parsed and dumped again as JSON text (its secrets masked when ``masked``);
    None for anything that is not JSON."""
    try:
        value = json.loads(body)
        return json.dumps(redact(value) if masked else value, indent=indent,
                          ensure_ascii=False)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError; RecursionError: nested deeper than the parser
        # (or the indenting encoder) goes.
        return None


def _body_type(body: bytes) -> str | None:
    if len(body) > TYPE_SNIFF_MAX_BYTES:
        return None
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value.get("type") if isinstance(value, dict) and isinstance(value.get("type"),
                                                                      str) else None


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _header_text(value: Any) -> str:
    text = _text(value)
    return _field(text if len(text) <= 300 else f"{text[:300]}...")


def _printable(text: str) -> str:
    """``text`` with control characters escaped; line breaks and tabs kept."""
    return _CONTROL.sub(_escape, text)


def _field(value: str | None) -> str:
    """One line of printable text (a column of `list`, a value of `show`)."""
    return _CONTROL_OR_BREAK.sub(_escape, value) if value else "-"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class _NoProgress:
    """Stands in for the progress bar where tqdm (the ``ops`` extra) is not installed, as in
    the production image: the replay works the same, it only shows no bar."""

    def set_postfix(self, **_: Any) -> None:
        pass

    def update(self, _n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(total=total, desc="replay", unit="msg", disable=not enabled or total == 0,
                file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
