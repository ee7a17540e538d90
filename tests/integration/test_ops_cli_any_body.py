"""The operator command works whatever a parked message holds: a body nested too deeply to
parse, binary, not UTF-8, 2 MB, empty, or laced with terminal escape sequences."""

from __future__ import annotations

import aio_pika
import pytest

from shared import ops
from shared.bus import Subscription
from shared.events import EventData
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.invoice.sent.v1"
# OSC (set the title), clear the screen, CSI as one C1 character, a right-to-left override.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202e".encode()

# message id -> body, published by a broken publisher without a type property (so the
# command has to look into the body to find one).
BODIES = {
    "nested": b"[" * 100_000,
    "nested-object": b'{"a":' * 100_000,
    "binary": bytes(range(256)) * 4,
    "not-utf8": b'{"type": "\xff\xfe"}',
    "large": b'{"pad": "' + b"x" * 2_000_000 + b'"}',
    "empty": b"",
    "escapes": b'{"type": "' + ESCAPES + b'", "x": "' + ESCAPES + b'"}',
}


class Sent(EventData):
    invoice: str


@pytest.fixture
async def parked_bodies(make_bus, amqp, queue_depth):
    """Every body of BODIES parked by the consumer itself, then the consumer gone."""
    bus = await make_bus("billing", max_event_bytes=1_048_576)
    bus.subscribe([Subscription(TYPE, Sent, lambda e, d: None)])
    await bus.start_consuming()
    channel = await amqp.channel()
    for message_id, body in BODIES.items():
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id), routing_key=bus.topology.queue)
    await channel.close()

    async def all_parked() -> bool:
        channel = await amqp.channel()
        try:
            q = await channel.declare_queue(bus.topology.parked, passive=True)
            return q.declaration_result.message_count == len(BODIES)
        finally:
            await channel.close()

    await eventually(all_parked, seconds=20, message="every body parked")
    await bus.close()
    return bus.topology


async def test_list_show_and_replay_work_for_any_body(
        parked_bodies, amqp_url, bus_prefix, amqp, get_all, ops_cli):
    t = parked_bodies
    listed = await ops.list_parked(amqp_url, t)
    assert sorted(p.message_id for p in listed) == sorted(BODIES)
    reasons = {p.message_id: p.reason for p in listed}
    assert reasons["nested"] == reasons["nested-object"] == "not-json"
    assert reasons["large"] == "too-large" and reasons["empty"] == "not-json"

    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{len(BODIES)} parked messages in {t.parked}"
    assert not {"\x1b", "\x9b", "\u202e"} & set(result.stdout)

    for message_id, body in BODIES.items():
        result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                               "--id", message_id)
        assert result.returncode == 0, (message_id, result.stderr[-2000:])
        assert f"message id:   {message_id}" in result.stdout
        assert f"size:         {len(body)} bytes" in result.stdout
        # Nothing a terminal would act on reaches it: escape sequences are shown escaped.
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, message_id
        assert "\x9b" not in result.stdout and "\u202e" not in result.stdout, message_id
    shown = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                          "--id", "escapes")
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e" in shown.stdout
    shown = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                          "--id", "large")
    assert f"{len(BODIES['large'])} bytes in all; --full prints everything" in shown.stdout
    assert len(shown.stdout) < 30_000

    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "replay",
                           "--all", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"replayed {len(BODIES)} messages from {t.parked} to {t.queue}"
    back = {m.message_id: m.body for m in await get_all(amqp, t.queue)}
    assert back == BODIES  # every body as it came, byte for byte
    assert await ops.list_parked(amqp_url, t) == []
