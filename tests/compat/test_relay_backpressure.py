"""The relay's back-pressure: a write with events waits while its relay has ``max_in_flight``
aggregates handed over or publishing, and never waits for a relay that can not publish."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.events import make_event
from shared.mongo import Aggregates
from shared.relay import Relay

pytestmark = pytest.mark.compat


def event(n: int, subject: str) -> dict:
    return make_event("test.thing.happened.v1", {"n": n}, source="compat", subject=subject,
                      company_id="c1")


class GatedBus:
    """Stands in for the broker: publishes wait until the gate opens (or fail, if told)."""

    def __init__(self, fail: bool = False) -> None:
        self.gate = asyncio.Event()
        self.fail = fail
        self.published: list[dict] = []

    async def publish(self, envelope: dict) -> None:
        if self.fail:
            raise ConnectionError("the broker is not reachable right now")
        await self.gate.wait()
        self.published.append(envelope)


async def started(db, bus: GatedBus, **kwargs) -> tuple[Relay, Aggregates]:
    relay = Relay(bus, metrics=None, poll_seconds=60, **kwargs)  # type: ignore[arg-type]
    store = Aggregates(db, "handed", on_events=relay.wake)
    await store.apply_indexes()
    relay.watch(store)
    await relay.start()
    return relay, store


async def test_a_write_waits_for_room_and_goes_once_an_event_is_confirmed(db) -> None:
    bus = GatedBus()
    relay, store = await started(db, bus, max_in_flight=2)
    try:
        await store.create({"_id": "agg-1"}, [event(1, "agg-1")])
        await store.create({"_id": "agg-2"}, [event(2, "agg-2")])
        third = asyncio.create_task(store.create({"_id": "agg-3"}, [event(3, "agg-3")]))
        await asyncio.sleep(0.3)
        assert not third.done(), "the write did not wait for room"
        assert await store.get({"_id": "agg-3"}) is None
        bus.gate.set()
        await asyncio.wait_for(third, 5)
        for _ in range(300):
            if len(bus.published) == 3:
                break
            await asyncio.sleep(0.01)
        assert [e["data"]["n"] for e in bus.published] == [1, 2, 3]
    finally:
        bus.gate.set()
        await relay.stop()


async def test_writes_do_not_wait_for_a_relay_that_can_not_publish(db) -> None:
    bus = GatedBus(fail=True)
    relay, store = await started(db, bus, max_in_flight=1)
    try:
        t0 = time.monotonic()
        for i in range(5):
            await store.create({"_id": f"agg-{i}"}, [event(i, f"agg-{i}")])
        assert time.monotonic() - t0 < 3.0
        assert await store.collection.count_documents({"has_pending": True}) == 5
    finally:
        await relay.stop()


async def test_writes_do_not_wait_for_a_relay_that_is_not_running(db) -> None:
    bus = GatedBus()
    relay = Relay(bus, metrics=None, max_in_flight=1)  # type: ignore[arg-type]
    store = Aggregates(db, "handed", on_events=relay.wake)
    await store.apply_indexes()
    t0 = time.monotonic()
    for i in range(3):
        await store.create({"_id": f"agg-{i}"}, [event(i, f"agg-{i}")])
    assert time.monotonic() - t0 < 3.0
    await relay.stop()
