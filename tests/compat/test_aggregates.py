"""shared.mongo.Aggregates and the relay's writes over the documents it saves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pymongo.errors import DuplicateKeyError

from shared.events import make_event
from shared.mongo import Aggregates, ConcurrencyConflict, Index, is_duplicate
from shared.relay import Relay

pytestmark = pytest.mark.compat

AT = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def event(n: int = 1, subject: str = "agg-1") -> dict:
    return make_event("test.thing.happened.v1", {"n": n, "items": [{"k": "v"}], "none": None},
                      source="compat", subject=subject, company_id="c1")


@pytest.fixture
async def store(db) -> Aggregates:
    woken: list[int] = []
    s = Aggregates(db, "aggregates", indexes=[Index.on("email", unique=True)],
                   on_events=lambda: woken.append(1))
    s.woken = woken  # type: ignore[attr-defined]
    await s.apply_indexes()
    return s


async def test_create_saves_document_with_outbox_fields_and_events(store) -> None:
    e1, e2 = event(1), event(2)
    saved = await store.create({"_id": "agg-1", "email": "a@x", "at": AT, "n": 0}, [e1, e2])
    got = await store.get({"_id": "agg-1"})
    assert got == saved
    assert got["version"] == 1 and got["outbox_seq"] == 2
    assert got["pending_events"] == [{"seq": 1, "event": e1}, {"seq": 2, "event": e2}]
    assert got["has_pending"] and got["pending_since"] > 0
    assert got["relay_lease"] == 0.0 and got["relay_owner"] == ""
    assert got["at"] == AT
    assert store.woken == [1]


async def test_create_without_events_has_nothing_pending(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"})
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and not got["has_pending"]
    assert store.woken == []


async def test_create_with_existing_id_or_unique_key_raises_duplicate(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"})
    with pytest.raises(DuplicateKeyError) as by_id:
        await store.create({"_id": "agg-1", "email": "b@x"})
    with pytest.raises(DuplicateKeyError) as by_key:
        await store.create({"_id": "agg-2", "email": "a@x"})
    assert is_duplicate(by_id.value) and is_duplicate(by_key.value)


async def test_update_with_current_version_saves_and_appends_events(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0}, [event(1)])
    doc = await store.get({"_id": "agg-1"})
    doc["n"] = 5
    doc["at"] = AT
    saved = await store.update(doc, [event(2)])
    got = await store.get({"_id": "agg-1"})
    assert got == saved
    assert got["version"] == 2 and got["n"] == 5 and got["at"] == AT
    assert [p["seq"] for p in got["pending_events"]] == [1, 2]


async def test_update_with_stale_version_raises_concurrency_conflict(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0})
    first = await store.get({"_id": "agg-1"})
    second = await store.get({"_id": "agg-1"})
    first["n"] = 1
    await store.update(first)
    second["n"] = 2
    with pytest.raises(ConcurrencyConflict):
        await store.update(second, [event()])
    got = await store.get({"_id": "agg-1"})
    assert got["n"] == 1 and got["version"] == 2 and got["pending_events"] == []


async def test_concurrent_changes_are_each_applied_exactly_once(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0})

    def bump(doc: dict) -> list[dict]:
        doc["n"] += 1
        return [event(doc["n"])]

    results = await asyncio.gather(*(store.change({"_id": "agg-1"}, bump) for _ in range(20)))
    assert all(r is not None for r in results)
    got = await store.get({"_id": "agg-1"})
    assert got["n"] == 20
    assert got["version"] == 21
    assert [p["seq"] for p in got["pending_events"]] == list(range(1, 21))
    assert [p["event"]["data"]["n"] for p in got["pending_events"]] == list(range(1, 21))


async def test_change_of_missing_document_returns_none(store) -> None:
    assert await store.change({"_id": "nope"}, lambda doc: []) is None


async def test_change_accepts_async_mutate(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0})

    async def mutate(doc: dict) -> list[dict]:
        await asyncio.sleep(0)
        doc["n"] = 9
        return []

    saved = await store.change({"_id": "agg-1"}, mutate)
    assert saved["n"] == 9 and (await store.get({"_id": "agg-1"}))["n"] == 9


async def test_applied_event_is_applied_once_when_redelivered(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0})

    def bump(doc: dict) -> list[dict]:
        doc["n"] += 1
        return [event(doc["n"])]

    await store.change({"_id": "agg-1"}, bump, applied_event="evt-1")
    await store.change({"_id": "agg-1"}, bump, applied_event="evt-1")
    await asyncio.gather(*(store.change({"_id": "agg-1"}, bump, applied_event="evt-2")
                           for _ in range(5)))
    got = await store.get({"_id": "agg-1"})
    assert got["n"] == 2
    assert got["applied_events"] == ["evt-1", "evt-2"]
    assert len(got["pending_events"]) == 2


async def test_applied_event_recorded_by_create_is_not_applied_again(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 1}, applied_event="evt-1")
    await store.change({"_id": "agg-1"}, lambda d: d.update(n=d["n"] + 1) or [],
                       applied_event="evt-1")
    assert (await store.get({"_id": "agg-1"}))["n"] == 1
    assert await store.collection.find_one(
        {"_id": "agg-1", "applied_events": {"$nin": ["evt-1"]}}) is None


class RecordingBus:
    """Stands in for the broker only; every MongoDB write in the test is real."""

    def __init__(self) -> None:
        self.published: list[dict] = []

    async def publish(self, envelope: dict) -> None:
        self.published.append(envelope)


async def test_relay_publishes_pending_events_in_order_and_clears_them(store) -> None:
    events = [event(i) for i in range(1, 4)]
    await store.create({"_id": "agg-1", "email": "a@x"}, events[:2])
    doc = await store.get({"_id": "agg-1"})
    await store.update(doc, events[2:])
    bus = RecordingBus()
    relay = Relay(bus, metrics=None)  # type: ignore[arg-type]
    relay.watch(store)
    assert await relay.backlog() == 1
    assert await relay.drain() == 3
    assert bus.published == events
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and not got["has_pending"]
    assert got["relay_owner"] == "" and got["relay_lease"] == 0.0
    assert await relay.drain() == 0
    assert await relay.backlog() == 0


async def test_relay_picks_up_events_saved_after_it_cleared_a_document(store) -> None:
    """has_pending goes False by $set, back to True by replace_one: the claim still finds it."""
    bus = RecordingBus()
    relay = Relay(bus, metrics=None)  # type: ignore[arg-type]
    relay.watch(store)
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0}, [event(1)])
    assert await relay.drain() == 1
    await store.change({"_id": "agg-1"}, lambda d: [event(2)])
    await store.change({"_id": "agg-1"}, lambda d: [])
    assert await relay.drain() == 1
    assert [e["data"]["n"] for e in bus.published] == [1, 2]
    got = await store.get({"_id": "agg-1"})
    assert got["outbox_seq"] == 2 and got["pending_events"] == []


async def test_relay_keeps_events_written_between_claim_and_removal(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    relay = Relay(RecordingBus(), metrics=None)  # type: ignore[arg-type]
    claimed = await relay._claim(store)
    assert claimed is not None and claimed["relay_owner"] == relay.owner
    # A command saves a new event while the relay publishes the claimed one.
    await store.change({"_id": "agg-1"}, lambda d: [event(2)])
    await relay._remove_published(store, "agg-1", claimed["pending_events"][-1]["seq"])
    got = await store.get({"_id": "agg-1"})
    assert [p["seq"] for p in got["pending_events"]] == [2]
    assert got["has_pending"] and got["relay_owner"] == ""


async def test_command_cannot_overwrite_a_relay_claim(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    doc = await store.get({"_id": "agg-1"})
    relay = Relay(RecordingBus(), metrics=None)  # type: ignore[arg-type]
    assert await relay._claim(store) is not None
    with pytest.raises(ConcurrencyConflict):
        await store.update(doc, [event(2)])


async def test_concurrent_relays_claim_a_document_once(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    relays = [Relay(RecordingBus(), metrics=None) for _ in range(10)]  # type: ignore[arg-type]
    claims = await asyncio.gather(*(r._claim(store) for r in relays))
    assert sum(c is not None for c in claims) == 1
