"""The operator command for parked messages: list (leaves them), show, replay (moves them back)."""

from __future__ import annotations

import json

import aio_pika
import pytest

from shared import ops
from shared.bus import Subscription
from tests.support.parked import INVOICE_SENT as TYPE
from tests.support.parked import InvoiceSent as Sent
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

async def _depth_is(queue_depth, amqp, name, n) -> bool:
    return await queue_depth(amqp, name) == n


async def test_parked_list_leaves_messages_and_replay_sends_them_to_the_fixed_handler(
        parked_three, amqp_url, bus_prefix, amqp, queue_depth, ops_cli):
    bus, events, state = parked_three
    t = bus.topology
    ids = {e["id"] for e in events}

    first = await ops.list_parked(amqp_url, t)
    assert {p.message_id for p in first} == ids
    assert [p.index for p in first] == [1, 2, 3]
    for p in first:
        assert p.type == TYPE and p.reason == "handler-failed" and p.attempts == 2
        assert "RuntimeError: mail server refused inv-" in p.detail
        assert p.parked_at is not None
    again = await ops.list_parked(amqp_url, t)
    assert [p.message_id for p in again] == [p.message_id for p in first]  # order kept
    # Nothing removed, and counted at once: a listing returns only after the broker put
    # back what it looked at (counting before that failed on a busy machine).
    assert await queue_depth(amqp, t.parked) == 3

    second = first[1]
    shown = ops.format_show(await ops.find_parked(amqp_url, t, message_id=second.message_id))
    assert "reason:       handler-failed" in shown
    assert "RuntimeError: mail server refused" in shown
    assert '"type": "test.invoice.sent.v1"' in shown  # the body, pretty
    by_index = await ops.find_parked(amqp_url, t, index=2)
    assert by_index.message_id == second.message_id
    with pytest.raises(ops.OpsError):
        await ops.find_parked(amqp_url, t, message_id="no-such-id")

    # The command line, as an operator runs it.
    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "message", "id", "type", "reason", "attempts", "parked",
                                "at"]
    for p, line in zip(first, lines[1:4], strict=True):
        assert line.split()[:5] == [str(p.index), p.message_id, TYPE, "handler-failed", "2"]
    assert lines[4] == f"3 parked messages in {t.parked}"
    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                           "--id", second.message_id)
    assert result.returncode == 0, result.stderr
    assert "reason:       handler-failed" in result.stdout
    assert json.loads(result.stdout.split("body:\n", 1)[1])["id"] == second.message_id
    assert await queue_depth(amqp, t.parked) == 3
    # Looking (whole list, one by index, one by id) never reorders the queue.
    assert [p.message_id for p in await ops.list_parked(amqp_url, t)] == [
        p.message_id for p in first]

    # Fixed: replay them all, the handler now takes them.
    state["broken"] = False
    assert await ops.replay(amqp_url, t, reason="handler-failed", progress=False) == 3
    await eventually(lambda: set(state["handled"]) == ids, seconds=10,
                     message=lambda: f"replayed events handled ({state['handled']})")
    assert sorted(state["handled"]) == sorted(ids)
    assert await queue_depth(amqp, t.parked) == 0
    assert await ops.list_parked(amqp_url, t) == []


async def test_replay_by_id_resets_attempts_strips_park_headers_and_keeps_the_others_parked(
        parked_three, amqp_url, bus_prefix, amqp, get_all, queue_depth, ops_cli):
    bus, _events, _state = parked_three
    t = bus.topology
    await bus.close()  # no consumer: replayed messages stay in the service's queue to look at
    before = [p.message_id for p in await ops.list_parked(amqp_url, t)]
    chosen = before[1]

    assert await ops.replay(amqp_url, t, reason="rejected", progress=False) == 0
    assert await ops.replay(amqp_url, t, ids=[chosen], progress=False) == 1

    [replayed] = await get_all(amqp, t.queue)
    assert replayed.message_id == chosen and replayed.type == TYPE
    assert replayed.headers["x-attempts"] == 0
    assert replayed.headers["x-replays"] == 1
    assert not [k for k in replayed.headers if k.startswith(("x-park", "x-death", "x-first"))]
    assert json.loads(replayed.body)["id"] == chosen
    assert [p.message_id for p in await ops.list_parked(amqp_url, t)] == [
        m for m in before if m != chosen]

    # The command line refuses a replay that says nothing about what to replay.
    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "replay")
    assert result.returncode == 2 and "--all" in result.stderr
    result = await ops_cli(amqp_url, bus_prefix, "--service", "nosuch", "parked", "list")
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "replay",
                           "--all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"replayed 2 messages from {t.parked} to {t.queue}"
    assert "replay: 100%" in result.stderr and "2/2" in result.stderr  # the progress bar
    assert await queue_depth(amqp, t.parked) == 0
    assert await queue_depth(amqp, t.queue) == 2


async def test_message_dead_lettered_by_delivery_limit_is_listed_with_that_reason(
        make_bus, amqp_url, amqp, queue_depth):
    bus = await make_bus("reports", delivery_limit=1)
    await bus.declare_queues()  # the queue, but nobody consumes: "crashes" are done by hand
    t = bus.topology
    channel = await amqp.channel()
    await channel.default_exchange.publish(
        aio_pika.Message(b'{"not": "checked"}', message_id="poison", type=TYPE),
        routing_key=t.queue)
    await channel.close()
    for _ in range(2):  # delivered, then the consumer dies without an ack: twice > limit 1
        channel = await amqp.channel()
        queue = await channel.declare_queue(t.queue, passive=True)
        await eventually(lambda queue=queue: queue.get(no_ack=False, fail=False),
                         message="delivered")
        await channel.close()
    await eventually(lambda: _depth_is(queue_depth, amqp, t.parked, 1),
                     message="dead-lettered to the parking queue")

    [parked] = await ops.list_parked(amqp_url, t)
    assert parked.message_id == "poison"
    assert parked.reason == "delivery-limit"
    assert t.queue in parked.detail
    assert parked.parked_at is not None and parked.attempts is None
    assert "delivery-limit" in ops.format_list([parked], t)


async def test_thirty_listings_in_a_row_leave_every_parked_message_in_place_unspent(
        parked_three, amqp_url, amqp, get_all, queue_depth):
    """Looking must never spend a delivery attempt: on RabbitMQ 4 a quorum queue drops a
    message handed back 20 times, so the parking queue must not count hand-backs at all."""
    bus, _events, _ = parked_three
    t = bus.topology
    await bus.close()
    first = [p.message_id for p in await ops.list_parked(amqp_url, t)]

    for _ in range(30):
        assert [p.message_id for p in await ops.list_parked(amqp_url, t)] == first
    [shown] = [await ops.find_parked(amqp_url, t, index=2)]
    assert shown.message_id == first[1]

    assert await queue_depth(amqp, t.parked) == 3
    messages = await get_all(amqp, t.parked)
    assert [m.message_id for m in messages] == first
    # 31 looks later, not one of them counted as a delivery (a quorum queue says 31 here).
    assert [(m.headers or {}).get("x-delivery-count", 0) for m in messages] == [0, 0, 0]


async def test_parking_queue_is_durable_classic_and_an_old_quorum_one_keeps_working(
        make_bus, amqp, get_all, queue_depth):
    bus = await make_bus("reports")
    await bus.declare_queues()
    t = bus.topology
    channel = await amqp.channel()
    await channel.declare_queue(t.parked, durable=True, arguments={"x-queue-type": "classic"})
    channel = await amqp.channel()
    with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
        await channel.declare_queue(t.parked, durable=True, arguments={"x-queue-type": "quorum"})

    # A broker that still has the parking queue of an older release (quorum): the service
    # starts all the same and parks there until an operator migrates the queue.
    old = await make_bus("legacy")
    channel = await amqp.channel()
    await channel.declare_queue(old.topology.parked, durable=True,
                                arguments={"x-queue-type": "quorum"})
    old.subscribe([Subscription(TYPE, Sent, lambda e, d: None)])
    await old.start_consuming()
    publisher = await amqp.channel()
    await publisher.default_exchange.publish(aio_pika.Message(b"not json", message_id="junk"),
                                             routing_key=old.topology.queue)
    await eventually(lambda: _depth_is(queue_depth, amqp, old.topology.parked, 1),
                     message="parked in the old parking queue")
    [parked] = await get_all(amqp, old.topology.parked)
    assert parked.headers["x-park-reason"] == "not-json"
