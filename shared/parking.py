"""The parking queue as an operator reads it: every message looked at and handed back in
place, one found by its index or id, chosen ones replayed to the service's queue (see
``shared.ops`` for the commands and how looking leaves the queue unchanged)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared.bus.topology import PUBLISH_TIMEOUT, Topology
from shared.ops_format import (
    PRETTY_MAX_BYTES,
    as_text,
    body_type,
    json_text,
    printable,
    progress_bar,
)

# Headers that describe a parking (or the broker's dead-lettering), dropped on replay.
_PARK_PREFIXES = ("x-park-", "x-parked-", "x-first-death-", "x-last-death-")
_DROPPED = {"x-death", "x-delivery-count", "x-original-routing-key", "x-last-error"}
# How long a listing waits for the broker to put the messages it looked at back in the queue.
HAND_BACK_TIMEOUT = 10.0
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
            type=message.type or body_type(message.body),
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
            text = json_text(self.body, indent=2, masked=not reveal)
        if text is None:
            text = self.body.decode("utf-8", errors="backslashreplace")
        text = printable(text)
        if limit is not None and len(text) > limit:
            return (f"{text[:limit]}\n... ({len(self.body)} bytes in all; "
                    f"--full prints everything)")
        return text


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
            bar = progress_bar(total, progress)
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
    messages: list[AbstractIncomingMessage] = []
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
    replays: Any = (message.headers or {}).get("x-replays", 0)
    headers["x-replays"] = int(replays or 0) + 1
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
        return as_text(headers["x-park-reason"]), as_text(headers.get("x-park-detail", ""))
    death = as_text(headers.get("x-first-death-reason", ""))
    if death:
        queue = as_text(headers.get("x-first-death-queue", ""))
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
        # Polling for a state the broker reaches by itself, not retrying a failed call.
        await asyncio.sleep(0.05)


