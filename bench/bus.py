"""The bus benchmark: what the platform's outbox → relay → idempotent consumer path costs
against raw aio-pika.

baseline  confirmed publishes of the event envelope straight to a topic exchange; a consumer
          on a quorum queue (the kit's queue arguments and prefetch) does one raw
          ``insert_one`` per message, then acks.
platform  each command is an ``Aggregates.create`` of an aggregate with one pending event;
          the kit's ``Relay`` (its defaults, on a MongoDB client of its own, handed each
          write by the store as ``shared.service`` wires it) publishes it through the kit's
          ``Bus``; a ``Subscription`` handler does an
          idempotent write (``Aggregates.create`` keyed by the event id, a duplicate key
          meaning "already done").

Both sides run in this one process with the same closed-loop producer concurrency, the same
envelope and the same prefetch, each on a database of its own (dropped afterwards) and on
broker objects named from BUS_PREFIX (deleted afterwards). Each measured run follows a
warm-up through the same pipeline. End-to-end latency of an event = the consumer being done
with it − the producer starting it (the start time travels in the event's data). Rate =
N / (last consumer done − first producer start).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import json
import math
import pstats
import time
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pymongo.errors import DuplicateKeyError

from bench import BenchConfig, register
from bench.support import (
    CommandTimings,
    CpuMeter,
    Recorder,
    delete_broker_objects,
    drive,
    machine,
    mongo_client,
    now_iso,
)
from shared.bus import PUBLISH_TIMEOUT, Bus, Subscription, Topology
from shared.config import ServiceSettings
from shared.events import CloudEvent, EventData, make_event
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.relay import Relay

EVENT_TYPE = "bench.order.placed.v1"
# Targets (issue 13): the platform's rate ≥ 0.75 of the baseline's, and its p99 at most 3× the
# baseline's in the same burst.
TARGET_RATIO = 0.75
TARGET_P99_FACTOR = 3.0
# What a service runs with (shared.config.ServiceSettings defaults), so both sides match it.
_DEFAULTS = ServiceSettings()
PREFETCH = _DEFAULTS.prefetch
DELIVERY_LIMIT = _DEFAULTS.delivery_limit
RETRY_DELAYS = list(_DEFAULTS.retry_delays)
RELAY_POLL_SECONDS = _DEFAULTS.relay_poll_seconds
RELAY_LEASE_SECONDS = _DEFAULTS.relay_lease_seconds


class OrderPlaced(EventData):
    seq: int
    phase: str
    started: float  # time.perf_counter() of this process when the producer started it


def _timeout(cfg: BenchConfig, n: int) -> float:
    """How long a phase may take before it is reported as incomplete."""
    return max(60.0, n / 20.0)


def _envelope(phase: str, seq: int, started: float) -> dict[str, Any]:
    return make_event(EVENT_TYPE, {"seq": seq, "phase": phase, "started": started},
                      source="/bench", subject=f"order-{phase}-{seq}")


# -- baseline -----------------------------------------------------------------------------
async def run_baseline(cfg: BenchConfig, timings: CommandTimings | None) -> dict[str, Any]:
    topology = Topology(f"{cfg.bus_prefix}-baseline", "bench")
    client = mongo_client(cfg.mongodb_url, timings)
    db_name = f"bench_bus_baseline_{uuid.uuid4().hex[:8]}"
    receipts = client[db_name]["receipts"]
    recorders: dict[str, Recorder] = {}
    connection = None
    try:
        connection = await aio_pika.connect_robust(
            cfg.amqp_url, client_properties={"connection_name": topology.queue})
        publish_channel = await connection.channel(publisher_confirms=True)
        exchange = await publish_channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await publish_channel.declare_exchange(
            topology.dead_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=PREFETCH)
        queue = await consume_channel.declare_queue(topology.queue, durable=True, arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": topology.dead_exchange,
            "x-dead-letter-routing-key": topology.queue,
        })
        await queue.bind(topology.exchange, routing_key=EVENT_TYPE)

        async def on_message(message: AbstractIncomingMessage) -> None:
            body = json.loads(message.body)
            data = body["data"]
            await receipts.insert_one({"_id": f"receipt:{body['id']}", "order": data["seq"]})
            recorders[data["phase"]].finish(body["id"], data["started"])
            await message.ack()

        tag = await queue.consume(on_message, no_ack=False)

        async def phase(name: str, n: int) -> dict[str, Any]:
            rec = recorders[name] = Recorder(n)

            async def publish(i: int) -> None:
                envelope = _envelope(name, i, rec.start())
                await exchange.publish(aio_pika.Message(
                    json.dumps(envelope, separators=(",", ":")).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=envelope["id"], correlation_id=envelope["correlationid"],
                    type=envelope["type"], headers={"x-attempts": 0},
                ), routing_key=EVENT_TYPE, timeout=PUBLISH_TIMEOUT)
                rec.produced_one()

            await drive(n, cfg.concurrency, publish)
            rec.producer_finished()
            await rec.wait(_timeout(cfg, n))
            return rec.summary()

        def progress() -> tuple[int, int, int]:
            rec = recorders.get("measured")
            return (rec.produced, rec.produced, len(rec.latencies)) if rec else (0, 0, 0)

        result = await _measure(cfg, phase, timings, progress)
        await queue.cancel(tag)
        return result
    finally:
        if connection is not None:
            await connection.close()
        await delete_broker_objects(cfg.amqp_url, [topology.queue],
                                    [topology.exchange, topology.dead_exchange])
        await client.drop_database(db_name)
        await client.close()


# -- platform -----------------------------------------------------------------------------
async def run_platform(cfg: BenchConfig, timings: CommandTimings | None,
                       relay_type: type[Relay] = Relay) -> dict[str, Any]:
    """The platform side; ``relay_type`` lets a trial relay (a subclass) be measured the same
    way before it goes into the kit."""
    topology = Topology(f"{cfg.bus_prefix}-platform", "bench")
    client = mongo_client(cfg.mongodb_url, timings)
    db_name = f"bench_bus_platform_{uuid.uuid4().hex[:8]}"
    db = client[db_name]
    metrics = Metrics("bench")
    bus = Bus(cfg.amqp_url, topology, metrics, prefetch=PREFETCH, delivery_limit=DELIVERY_LIMIT,
              retry_delays=RETRY_DELAYS)
    # As shared.service wires it: the relay on connections of its own.
    relay_client = mongo_client(cfg.mongodb_url, timings)
    relay = relay_type(bus, metrics, poll_seconds=RELAY_POLL_SECONDS,
                       lease_seconds=RELAY_LEASE_SECONDS, client=relay_client)
    orders = Aggregates(db, "orders", on_events=relay.wake)
    receipts = Aggregates(db, "receipts")
    relay.watch(orders)
    recorders: dict[str, Recorder] = {}

    async def on_order_placed(event: CloudEvent, data: OrderPlaced) -> None:
        # the idempotent write: a redelivery hits the duplicate key and is done
        with contextlib.suppress(DuplicateKeyError):
            await receipts.create({"_id": f"receipt:{event.id}", "order": data.seq})
        recorders[data.phase].finish(event.id, data.started)

    bus.subscribe([Subscription(EVENT_TYPE, OrderPlaced, on_order_placed)])
    try:
        await orders.apply_indexes()
        await receipts.apply_indexes()
        await bus.connect()
        await bus.declare_queues()
        await relay.start()
        await bus.start_consuming()

        async def phase(name: str, n: int) -> dict[str, Any]:
            rec = recorders[name] = Recorder(n)

            async def command(i: int) -> None:
                started = rec.start()
                await orders.create({"_id": f"order-{name}-{i}", "seq": i, "status": "placed"},
                                    [_envelope(name, i, started)])
                rec.produced_one()

            await drive(n, cfg.concurrency, command)
            rec.producer_finished()
            await rec.wait(_timeout(cfg, n))
            return rec.summary()

        def published() -> int:
            return int(metrics.registry.get_sample_value(
                "bap_events_published_total", {"type": EVENT_TYPE}) or 0)

        published_before_measure = 0

        def progress() -> tuple[int, int, int]:
            rec = recorders.get("measured")
            if rec is None:
                return (0, 0, 0)
            return (rec.produced, published() - published_before_measure, len(rec.latencies))

        async def measured_phase(name: str, n: int) -> dict[str, Any]:
            nonlocal published_before_measure
            if name == "measured":
                published_before_measure = published()
            return await phase(name, n)

        result = await _measure(cfg, measured_phase, timings, progress, profile=cfg.profile)
        result["relay"] = {"relay_concurrency": relay.concurrency,
                           "relay_window": relay.window, "relay_batch": relay.batch,
                           "relay_poll_seconds": relay.poll_seconds,
                           "relay_lease_seconds": relay.lease_seconds}
        return result
    finally:
        await relay.stop()
        await bus.close()
        await delete_broker_objects(
            cfg.amqp_url,
            [topology.queue, topology.parked, *(topology.retry(d) for d in RETRY_DELAYS)],
            [topology.exchange, topology.dead_exchange])
        await client.drop_database(db_name)
        await client.close()
        await relay_client.close()


async def _measure(cfg: BenchConfig, phase, timings: CommandTimings | None,
                   progress: Callable[[], tuple[int, int, int]], *,
                   profile: bool = False) -> dict[str, Any]:
    """Warm up, then the measured phase, with CPU accounting (and diagnostics if asked:
    MongoDB per-command timings, a timeline of produced/published/consumed counts, cProfile)."""
    if cfg.warmup:
        await phase("warmup", cfg.warmup)
    await asyncio.sleep(0.2)  # let the warm-up's stragglers (acks, relay clean-up) settle
    if timings is not None:
        timings.reset()
    cpu = CpuMeter(cfg.mongodb_url)
    profiler = cProfile.Profile() if profile else None
    timeline: list[list[float]] = []
    sampler = asyncio.create_task(_sample(progress, timeline)) if cfg.profile else None
    # (cProfile only where ``profile`` is asked for: the platform side)
    cpu.start()
    if profiler is not None:
        profiler.enable()
    try:
        summary = await phase("measured", cfg.n)
    finally:
        if profiler is not None:
            profiler.disable()
        if sampler is not None:
            sampler.cancel()
    summary["cpu"] = cpu.stop()
    if timings is not None:
        summary["mongodb_commands"] = timings.summary(cfg.n)
    if sampler is not None:
        timeline.append([round(time.perf_counter() - timeline[0][0], 2) if timeline else 0.0,
                         *progress()])
        if timeline:
            timeline[0][0] = 0.0
        summary["timeline"] = {"columns": ["t_s", "produced", "published", "consumed"],
                               "rows": timeline}
    if profiler is not None:
        summary["profile_top"] = _profile_top(profiler)
    return summary


async def _sample(progress: Callable[[], tuple[int, int, int]], rows: list[list[float]],
                  every: float = 0.5) -> None:
    t0 = time.perf_counter()
    rows.append([t0, *progress()])  # the first row's time is fixed up to 0 at the end
    while True:
        await asyncio.sleep(every)
        rows.append([round(time.perf_counter() - t0, 2), *progress()])


def _profile_top(profiler: cProfile.Profile, limit: int = 30) -> list[str]:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return lines[start:]


@register("bus")
async def bus_benchmark(cfg: BenchConfig) -> dict[str, Any]:
    timings = CommandTimings() if cfg.profile else None
    baseline = await run_baseline(cfg, timings)
    platform = await run_platform(cfg, timings)
    ratio = (platform["events_per_s"] / baseline["events_per_s"]
             if baseline["events_per_s"] else 0.0)
    p99_factor = (platform["p99_ms"] / baseline["p99_ms"]) if baseline["p99_ms"] else math.inf
    complete = baseline["complete"] and platform["complete"]
    return {
        "benchmark": "bus",
        "n": cfg.n,
        "concurrency": cfg.concurrency,
        "warmup": cfg.warmup,
        "baseline": baseline,
        "platform": platform,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "p99_factor": round(p99_factor, 2),
        "target_p99_factor": TARGET_P99_FACTOR,
        "meets_target": ratio >= TARGET_RATIO and p99_factor <= TARGET_P99_FACTOR and complete,
        "settings": {"prefetch": PREFETCH, "delivery_limit": DELIVERY_LIMIT,
                     "producer_concurrency": cfg.concurrency, **platform.pop("relay")},
        "machine": machine(),
        "measured_at": now_iso(),
    }
