"""Two relays (two processes' worth: separate connections) on one database, with writes still
coming in: every event is consumed exactly once, and each aggregate's events in order."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.relay import Relay
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.meter.read.v1"
AGGREGATES = 30
EVENTS_EACH = 10
N = AGGREGATES * EVENTS_EACH  # 300


class Read(EventData):
    meter: str
    seq: int


async def test_two_relays_publish_every_event_exactly_once_in_aggregate_order(
        make_bus, db, consumed_ok):
    seen: list[tuple[str, int, str]] = []

    async def handle(event, data: Read) -> None:
        seen.append((data.meter, data.seq, event.id))  # first thing: delivery order

    consumer = await make_bus("billing")
    consumer.subscribe([Subscription(TYPE, Read, handle)])
    await consumer.start_consuming()

    relays, stores = [], []
    for _ in range(2):
        relay = Relay(await make_bus("meters"), Metrics("meters"), poll_seconds=0.2,
                      lease_seconds=30)
        store = Aggregates(db, "meters", on_events=relay.wake)  # one collection, two processes
        relay.watch(store)
        relays.append(relay)
        stores.append(store)
    await stores[0].apply_indexes()
    for relay in relays:
        await relay.start()

    def reading(meter: str, seq: int) -> dict:
        return make_event(TYPE, {"meter": meter, "seq": seq}, source="meters", subject=meter)

    async def write(i: int) -> None:
        meter = f"m-{i:02d}"
        await stores[i % 2].create({"_id": meter, "reads": 1}, [reading(meter, 1)])
        for n in range(2, EVENTS_EACH + 1):
            def add(doc, n=n):
                doc["reads"] += 1
                return [reading(meter, doc["reads"])]

            await stores[(i + n) % 2].change({"_id": meter}, add)  # one event per write

    try:
        await asyncio.gather(*(write(i) for i in range(AGGREGATES)))
        await eventually(lambda: len({s[2] for s in seen}) == N, seconds=30,
                         message=lambda: f"{N} events consumed ({len(seen)} so far)")
        await eventually(lambda: _backlog_empty(relays[0]), message="nothing left to publish")
        await eventually(lambda: consumed_ok(consumer, TYPE) == len(seen),
                         message="every delivery acknowledged")
    finally:
        for relay in relays:
            await relay.stop()

    ids = Counter(s[2] for s in seen)
    assert [i for i, c in ids.items() if c > 1] == [], "events delivered more than once"
    assert len(seen) == N
    by_meter: dict[str, list[int]] = defaultdict(list)
    for meter, seq, _ in seen:
        by_meter[meter].append(seq)
    assert len(by_meter) == AGGREGATES
    for meter, seqs in by_meter.items():
        assert seqs == list(range(1, EVENTS_EACH + 1)), f"{meter} out of order: {seqs}"
    published = [r.bus.metrics.registry.get_sample_value("bap_events_published_total",
                                                         {"type": TYPE}) or 0 for r in relays]
    assert sum(published) == N


async def _backlog_empty(relay: Relay) -> bool:
    return await relay.backlog() == 0
