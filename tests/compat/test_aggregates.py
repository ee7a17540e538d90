"""shared.mongo.Aggregates and the relay's writes over the documents it saves."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import DuplicateKeyError

from shared.events import make_event
from shared.mongo import Aggregates, ConcurrencyConflict, is_duplicate
from shared.relay import Relay
from tests.support.polling import eventually
from tests.support.recording_bus import RecordingBus, relay_with

pytestmark = pytest.mark.compat

AT = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def event(n: int = 1, subject: str = "agg-1") -> dict:
    return make_event("test.thing.happened.v1", {"n": n, "items": [{"k": "v"}], "none": None},
                      source="compat", subject=subject, company_id="c1")


async def test_create_saves_document_with_outbox_fields_and_events(store) -> None:
    e1, e2 = event(1), event(2)
    saved = await store.create({"_id": "agg-1", "email": "a@x", "at": AT, "n": 0}, [e1, e2])
    got = await store.get({"_id": "agg-1"})
    assert got == saved
    assert got["version"] == 1 and got["outbox_seq"] == 2
    assert got["pending_events"] == [{"seq": 1, "event": e1}, {"seq": 2, "event": e2}]
    assert got["has_pending"] and got["pending_since"] > 0
    assert got["relay_lease"] == 0.0 and got["relay_owner"] == "" and got["relay_claim"] == ""
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


async def test_a_rejected_or_empty_change_leaves_no_trace_of_the_event(store) -> None:
    """An event counts as applied only in the write that applies its effect: rejected (the
    mutate raised) or without effect, it can be applied later (a replay after a fix)."""
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0})

    def reject(doc: dict) -> list[dict]:
        raise LookupError("not yet")

    with pytest.raises(LookupError):
        await store.change({"_id": "agg-1"}, reject, applied_event="evt-1")
    await store.change({"_id": "agg-1"}, lambda doc: [], applied_event="evt-1")
    untouched = await store.get({"_id": "agg-1"})
    assert untouched["applied_events"] == [] and untouched["version"] == 1
    await store.change({"_id": "agg-1"}, lambda d: d.update(n=1) or [], applied_event="evt-1")
    assert (await store.get({"_id": "agg-1"}))["applied_events"] == ["evt-1"]


async def test_applied_event_recorded_by_create_is_not_applied_again(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x", "n": 1}, applied_event="evt-1")
    await store.change({"_id": "agg-1"}, lambda d: d.update(n=d["n"] + 1) or [],
                       applied_event="evt-1")
    assert (await store.get({"_id": "agg-1"}))["n"] == 1
    assert await store.collection.find_one(
        {"_id": "agg-1", "applied_events": {"$nin": ["evt-1"]}}) is None


async def test_relay_publishes_pending_events_in_order_and_clears_them(store) -> None:
    events = [event(i) for i in range(1, 4)]
    await store.create({"_id": "agg-1", "email": "a@x"}, events[:2])
    doc = await store.get({"_id": "agg-1"})
    await store.update(doc, events[2:])
    bus = RecordingBus()
    relay = relay_with(bus)
    relay.watch(store)
    assert await relay.backlog() == 1
    assert await relay.drain() == 3
    assert bus.published == events
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and not got["has_pending"]
    assert got["relay_owner"] == "" and got["relay_lease"] == 0.0 and got["relay_claim"] == ""
    assert await relay.drain() == 0
    assert await relay.backlog() == 0


async def test_relay_picks_up_events_saved_after_it_cleared_a_document(store) -> None:
    """has_pending goes False by $set, back to True by replace_one: the claim still finds it."""
    bus = RecordingBus()
    relay = relay_with(bus)
    relay.watch(store)
    await store.create({"_id": "agg-1", "email": "a@x", "n": 0}, [event(1)])
    assert await relay.drain() == 1
    await store.change({"_id": "agg-1"}, lambda d: [event(2)])
    await store.change({"_id": "agg-1"}, lambda d: [])
    assert await relay.drain() == 1
    assert [e["data"]["n"] for e in bus.published] == [1, 2]
    got = await store.get({"_id": "agg-1"})
    assert got["outbox_seq"] == 2 and got["pending_events"] == []


async def test_relay_claims_a_batch_oldest_first_and_publishes_each_aggregate_in_order(
        store) -> None:
    for i in range(5):
        await store.create({"_id": f"agg-{i}", "email": f"{i}@x"},
                           [event(10 * i + 1, f"agg-{i}"), event(10 * i + 2, f"agg-{i}")])
    bus = RecordingBus()
    relay = relay_with(bus, batch=3)
    relay.watch(store)
    claimed = await relay.claim(store)
    assert [w.id for w in claimed] == ["agg-0", "agg-1", "agg-2"]
    assert len({w.claim for w in claimed}) == 1
    for w in claimed:
        doc = await store.get({"_id": w.id})
        assert doc["relay_owner"] == relay.owner and doc["relay_claim"] == w.claim
    assert await relay.publish_all(claimed) == 6
    assert await relay.drain() == 4  # the other two
    by_aggregate: dict[str, list[int]] = {}
    for e in bus.published:
        by_aggregate.setdefault(e["subject"], []).append(e["data"]["n"])
    assert by_aggregate == {f"agg-{i}": [10 * i + 1, 10 * i + 2] for i in range(5)}
    assert await relay.backlog() == 0


async def test_relay_keeps_events_written_while_it_publishes_and_publishes_them_next(
        store) -> None:
    async def command_meanwhile(envelope: dict) -> None:
        if envelope["data"]["n"] == 1:  # a command saves a new event during the publication
            await store.change({"_id": "agg-1"}, lambda d: [event(2)])

    bus = RecordingBus(command_meanwhile)
    relay = relay_with(bus)
    relay.watch(store)
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    assert await relay.drain() == 2  # the removal kept event 2 under a new claim; published
    assert [e["data"]["n"] for e in bus.published] == [1, 2]
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and not got["has_pending"]
    assert got["relay_owner"] == "" and got["relay_claim"] == ""


async def test_command_cannot_overwrite_a_relay_claim(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    doc = await store.get({"_id": "agg-1"})
    relay = relay_with()
    assert len(await relay.claim(store)) == 1
    with pytest.raises(ConcurrencyConflict):
        await store.update(doc, [event(2)])


async def test_concurrent_relays_claim_a_document_once(store) -> None:
    await store.create({"_id": "agg-1", "email": "a@x"}, [event(1)])
    relays = [relay_with() for _ in range(10)]
    claims = await asyncio.gather(*(r.claim(store) for r in relays))
    assert sum(len(c) for c in claims) == 1


async def test_concurrent_batch_claims_take_each_aggregate_once(store) -> None:
    for i in range(40):
        await store.create({"_id": f"agg-{i:02d}", "email": f"{i}@x"}, [event(i)])
    relays = [relay_with(batch=8) for _ in range(6)]
    claims = [w for ws in await asyncio.gather(*(r.claim(store) for r in relays)) for w in ws]
    ids = [w.id for w in claims]
    assert len(ids) == len(set(ids)) and 0 < len(ids) <= 40
    for w in claims:
        assert (await store.get({"_id": w.id}))["relay_claim"] == w.claim


# -- a write claims its aggregate for the relay of its process and hands it over ----------
async def test_write_saves_its_aggregate_claimed_and_hands_it_to_the_relay(handing_over):
    store, relay, bus = handing_over
    before = time.time()
    await store.create({"_id": "agg-1"}, [event(1)])
    doc = await store.get({"_id": "agg-1"})
    assert doc["relay_owner"] == relay.owner and doc["relay_claim"].startswith(relay.owner)
    assert doc["relay_lease"] >= before + relay.lease_seconds - 1
    assert [w.id for w in relay.handed_over] == ["agg-1"]
    assert await relay.claim(store) == []  # nobody else can claim it
    assert await relay.drain() == 1
    assert [e["data"]["n"] for e in bus.published] == [1]
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and not got["has_pending"] and got["relay_claim"] == ""
    # The next write of the same aggregate is handed over again.
    await store.change({"_id": "agg-1"}, lambda d: [event(2)])
    assert await relay.drain() == 1
    assert [e["data"]["n"] for e in bus.published] == [1, 2]


async def test_write_without_events_claims_nothing(handing_over):
    store, relay, _ = handing_over
    await store.create({"_id": "agg-1"})
    doc = await store.get({"_id": "agg-1"})
    assert doc["relay_owner"] == "" and doc["relay_lease"] == 0.0 and not relay.handed_over


async def test_write_takes_over_unclaimed_pending_events_and_keeps_their_order(
        store, handing_over):
    handed, relay, bus = handing_over
    plain = Aggregates(handed.collection.database, "handed")  # another process, no relay
    await plain.create({"_id": "agg-1"}, [event(1)])
    await handed.change({"_id": "agg-1"}, lambda d: [event(2)])
    assert [w.pending[-1]["seq"] for w in relay.handed_over] == [2]
    assert await relay.drain() == 2
    assert [e["data"]["n"] for e in bus.published] == [1, 2]


async def test_write_does_not_take_a_claim_that_is_running(handing_over):
    handed, relay, bus = handing_over
    other_bus = RecordingBus()
    other = relay_with(other_bus)  # another process's relay
    plain = Aggregates(handed.collection.database, "handed")
    await plain.create({"_id": "agg-1"}, [event(1)])
    claimed = await other.claim(handed)
    assert [w.id for w in claimed] == ["agg-1"]
    await handed.change({"_id": "agg-1"}, lambda d: [event(2)])
    doc = await handed.get({"_id": "agg-1"})
    assert doc["relay_claim"] == claimed[0].claim and doc["relay_owner"] == other.owner
    assert not relay.handed_over  # woken only: nothing of it to publish
    assert await relay.drain() == 0
    # The claim's holder publishes its event, then the one added meanwhile, in order.
    assert await other.publish_all(claimed) == 2
    assert [e["data"]["n"] for e in other_bus.published] == [1, 2] and bus.published == []
    got = await handed.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and got["relay_claim"] == ""


async def test_handed_over_aggregate_of_a_dead_process_is_published_after_its_lease(db):
    dead = relay_with(lease_seconds=3.0)  # saves claimed for itself, never publishes
    store = Aggregates(db, "handed", on_events=dead.wake)
    await store.apply_indexes()
    await store.create({"_id": "agg-1"}, [event(1)])
    bus = RecordingBus()
    survivor = relay_with(bus)
    survivor.watch(store)
    assert await survivor.drain() == 0  # leased
    await asyncio.sleep(3.1)
    assert await survivor.drain() == 1
    assert [e["data"]["n"] for e in bus.published] == [1]
    assert (await store.get({"_id": "agg-1"}))["pending_events"] == []


def _published(store: Aggregates, _id: str):
    """A check: nothing of ``_id`` is pending any more."""
    async def check() -> bool:
        return (await store.get({"_id": _id}))["pending_events"] == []
    return check


class CountingRelay(Relay):
    claims = 0

    async def _claim(self, store):
        self.claims += 1
        return await super().claim(store)


async def test_running_relay_publishes_a_write_at_once_without_claiming_it(db):
    published = asyncio.Event()

    async def seen(envelope: dict) -> None:
        published.set()

    bus = RecordingBus(seen)
    relay = CountingRelay(bus, metrics=None, poll_seconds=60)  # type: ignore[arg-type]
    store = Aggregates(db, "handed", on_events=relay.wake)
    await store.apply_indexes()
    relay.watch(store)
    await relay.start()
    try:
        # both workers did their first cycle and wait
        await eventually(lambda: len(relay.idle_workers) == relay.concurrency, 5, 0.01)
        claims = relay.claims
        await store.create({"_id": "agg-1"}, [event(1)])
        await asyncio.wait_for(published.wait(), 5)
        await eventually(_published(store, "agg-1"), 5, 0.01)
        assert (await store.get({"_id": "agg-1"}))["pending_events"] == []
        assert relay.claims == claims, "published without a claim (nor a poll)"
    finally:
        await relay.stop()


async def test_wake_wakes_one_idle_worker_and_still_takes_no_argument(db):
    relay = relay_with(poll_seconds=60, concurrency=3)
    await relay.start()
    try:
        await eventually(lambda: len(relay.idle_workers) == 3, 5, 0.01)
        idle = list(relay.idle_workers)
        relay.wake()
        assert sum(w.done() for w in idle) == 1
    finally:
        await relay.stop()


async def test_stopped_relay_lets_go_of_what_was_handed_over(db):
    relay = relay_with()
    store = Aggregates(db, "handed", on_events=relay.wake)
    await store.apply_indexes()
    await store.create({"_id": "agg-1"}, [event(1)])  # (no worker runs to publish it)
    assert relay.handed_over
    await relay.stop()
    doc = await store.get({"_id": "agg-1"})
    assert doc["has_pending"] and doc["relay_claim"] == "" and doc["relay_lease"] == 0.0
    await store.create({"_id": "agg-2"}, [event(2)])  # a stopped relay claims nothing
    assert (await store.get({"_id": "agg-2"}))["relay_owner"] == ""


async def test_write_while_its_own_claim_publishes_is_published_next_in_order(handing_over):
    store, relay, _ = handing_over

    async def command_meanwhile(envelope: dict) -> None:
        if envelope["data"]["n"] == 1:
            await store.change({"_id": "agg-1"}, lambda d: [event(2)])
            doc = await store.get({"_id": "agg-1"})
            assert doc["relay_claim"] == first_claim  # the running claim was kept
            assert not relay.handed_over  # nothing handed over: the claim's holder has it

    relay.bus.on_publish = command_meanwhile
    await store.create({"_id": "agg-1"}, [event(1)])
    first_claim = relay.handed_over[0].claim
    assert await relay.drain() == 2
    assert [e["data"]["n"] for e in relay.bus.published] == [1, 2]
    got = await store.get({"_id": "agg-1"})
    assert got["pending_events"] == [] and got["relay_claim"] == "" and not got["has_pending"]


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def started(self, event) -> None:
        self.counts[event.command_name] = self.counts.get(event.command_name, 0) + 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


async def test_relay_works_on_its_own_client_and_writes_removals_together(db, mongo_url):
    commands = CommandCounter()
    client = AsyncMongoClient(mongo_url, tz_aware=True, event_listeners=[commands])
    try:
        bus = RecordingBus()
        relay = relay_with(bus, client=client)
        store = Aggregates(db, "handed", on_events=relay.wake)
        await store.apply_indexes()
        relay.watch(store)
        for i in range(20):
            await store.create({"_id": f"agg-{i:02d}"}, [event(i, f"agg-{i:02d}")])
        # one with two events and one that gets an event added while it is published
        await store.create({"_id": "agg-x"}, [event(100, "agg-x"), event(101, "agg-x")])

        async def command_meanwhile(envelope: dict) -> None:
            if envelope["data"]["n"] == 5:
                await store.change({"_id": "agg-05"}, lambda d: [event(50, "agg-05")])

        bus.on_publish = command_meanwhile
        assert await relay.drain() == 23
        assert commands.counts.get("update", 0) <= 6, commands.counts  # not one per aggregate
        by_aggregate: dict[str, list[int]] = {}
        for e in bus.published:
            by_aggregate.setdefault(e["subject"], []).append(e["data"]["n"])
        assert by_aggregate["agg-05"] == [5, 50] and by_aggregate["agg-x"] == [100, 101]
        assert await relay.backlog() == 0
        assert await store.collection.count_documents({"relay_claim": {"$ne": ""}}) == 0
    finally:
        await client.close()
