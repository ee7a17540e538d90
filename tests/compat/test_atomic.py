"""find_one_and_update and $inc: the atomic single-document writes of the relay and counters."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.compat


async def test_find_one_and_update_sets_increments_and_returns_document_after(coll) -> None:
    await coll.insert_one({"_id": 1, "version": 3, "lease": 0.0, "owner": ""})
    now = time.time()
    got = await coll.find_one_and_update(
        {"_id": 1, "lease": {"$lt": now}},
        {"$set": {"lease": now + 30, "owner": "me"}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    assert got["version"] == 4 and got["owner"] == "me"
    assert got["lease"] == pytest.approx(now + 30, abs=1e-3)
    assert await coll.find_one({"_id": 1}) == got


async def test_find_one_and_update_returns_document_before_by_default(coll) -> None:
    await coll.insert_one({"_id": 1, "n": 1})
    got = await coll.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}})
    assert got["n"] == 1
    assert (await coll.find_one({"_id": 1}))["n"] == 2


async def test_find_one_and_update_with_unmet_lt_filter_returns_none_and_changes_nothing(
        coll) -> None:
    future = time.time() + 60
    await coll.insert_one({"_id": 1, "lease": future, "owner": "other"})
    got = await coll.find_one_and_update(
        {"_id": 1, "lease": {"$lt": time.time()}},
        {"$set": {"owner": "me"}}, return_document=ReturnDocument.AFTER)
    assert got is None
    assert (await coll.find_one({"_id": 1}))["owner"] == "other"


async def test_find_one_and_update_with_sort_takes_the_first_in_order(coll) -> None:
    await coll.insert_many([
        {"_id": "b", "pending": True, "since": 20.5, "lease": 0.0},
        {"_id": "a", "pending": True, "since": 30.25, "lease": 0.0},
        {"_id": "c", "pending": True, "since": 10.75, "lease": 0.0},
        {"_id": "d", "pending": False, "since": 1.0, "lease": 0.0},
    ])
    order = []
    for _ in range(4):
        got = await coll.find_one_and_update(
            {"pending": True, "lease": {"$lt": time.time()}},
            {"$set": {"lease": time.time() + 30}},
            sort=[("since", 1)], return_document=ReturnDocument.AFTER)
        order.append(got and got["_id"])
    assert order == ["c", "b", "a", None]


async def test_concurrent_claims_of_one_document_have_exactly_one_winner(coll) -> None:
    await coll.insert_one({"_id": "agg", "pending": True, "lease": 0.0, "owner": "",
                           "version": 1})
    now = time.time()

    async def claim(who: int):
        return await coll.find_one_and_update(
            {"pending": True, "lease": {"$lt": now}},
            {"$set": {"lease": now + 30, "owner": f"w{who}"}, "$inc": {"version": 1}},
            sort=[("lease", 1)], return_document=ReturnDocument.AFTER)

    results = await asyncio.gather(*(claim(i) for i in range(50)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1, f"{len(winners)} claimers won one lease"
    stored = await coll.find_one({"_id": "agg"})
    assert stored["owner"] == winners[0]["owner"]
    assert stored["version"] == 2


async def test_concurrent_claims_of_several_documents_take_each_once(coll) -> None:
    await coll.insert_many([{"_id": i, "pending": True, "since": float(i), "lease": 0.0,
                             "owner": ""} for i in range(10)])
    now = time.time()

    async def claim(who: int):
        return await coll.find_one_and_update(
            {"pending": True, "lease": {"$lt": now}},
            {"$set": {"lease": now + 30, "owner": f"w{who}"}},
            sort=[("since", 1)], return_document=ReturnDocument.AFTER)

    results = await asyncio.gather(*(claim(i) for i in range(40)))
    claimed = [r["_id"] for r in results if r is not None]
    assert sorted(claimed) == list(range(10)), "each document claimed exactly once"
    for r in results:
        if r is not None:
            assert (await coll.find_one({"_id": r["_id"]}))["owner"] == r["owner"]


async def test_concurrent_increments_are_never_lost(coll) -> None:
    await coll.insert_one({"_id": "counter", "n": 0})

    async def bump():
        await coll.find_one_and_update({"_id": "counter"}, {"$inc": {"n": 1}})

    await asyncio.gather(*(bump() for _ in range(100)))
    assert (await coll.find_one({"_id": "counter"}))["n"] == 100


async def test_concurrent_update_one_increments_are_never_lost(coll) -> None:
    await coll.insert_one({"_id": "counter", "n": 0, "version": 0})
    await asyncio.gather(*(coll.update_one({"_id": "counter"}, {"$inc": {"n": 1, "version": 2}})
                           for _ in range(100)))
    got = await coll.find_one({"_id": "counter"})
    assert got["n"] == 100 and got["version"] == 200


async def test_concurrent_increments_return_distinct_values(coll) -> None:
    """A sequence: each caller gets its own number (customer numbers, outbox sequences)."""
    await coll.insert_one({"_id": "seq", "n": 0})

    async def take() -> int:
        got = await coll.find_one_and_update({"_id": "seq"}, {"$inc": {"n": 1}},
                                             return_document=ReturnDocument.AFTER)
        return got["n"]

    numbers = await asyncio.gather(*(take() for _ in range(60)))
    assert sorted(numbers) == list(range(1, 61))


async def test_concurrent_version_guarded_writes_let_one_win(coll) -> None:
    await coll.insert_one({"_id": 1, "version": 1, "by": ""})
    results = await asyncio.gather(*(
        coll.update_one({"_id": 1, "version": 1}, {"$set": {"by": f"w{i}"}, "$inc": {"version": 1}})
        for i in range(30)))
    assert sum(r.matched_count for r in results) == 1
    assert (await coll.find_one({"_id": 1}))["version"] == 2


async def test_concurrent_replace_with_version_filter_lets_one_win(coll) -> None:
    await coll.insert_one({"_id": 1, "version": 1, "by": ""})
    results = await asyncio.gather(*(
        coll.replace_one({"_id": 1, "version": 1}, {"version": 2, "by": f"w{i}"})
        for i in range(30)))
    assert sum(r.matched_count for r in results) == 1


# -- the rate limits' counter (shared.mongo.Quota): one upsert that creates and counts ---------
async def test_counting_upsert_creates_the_counter_with_the_filters_equality_fields(coll) -> None:
    ends = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    counter = {"_id": "k:1", "ends": ends, "n": {"$lte": 4}}
    first = await coll.find_one_and_update(counter, {"$inc": {"n": 1}}, upsert=True,
                                           return_document=ReturnDocument.AFTER)
    second = await coll.find_one_and_update(counter, {"$inc": {"n": 1}}, upsert=True,
                                            return_document=ReturnDocument.AFTER)
    assert first == {"_id": "k:1", "ends": ends, "n": 1}
    assert second == {"_id": "k:1", "ends": ends, "n": 2}
    # the copied datetime is a BSON date: a TTL index and range queries see it
    assert await coll.count_documents({"ends": {"$lt": datetime(2031, 1, 1, tzinfo=UTC)}}) == 1


async def test_counting_upsert_that_misses_an_existing_id_changes_and_inserts_nothing(
        coll) -> None:
    await coll.insert_one({"_id": "k:1", "n": 5})
    try:
        got = await coll.find_one_and_update({"_id": "k:1", "n": {"$lte": 4}},
                                             {"$inc": {"n": 1}}, upsert=True,
                                             return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:  # MongoDB
        got = None
    assert got is None  # the emulator answers no document
    assert await coll.find({}).to_list() == [{"_id": "k:1", "n": 5}]


async def test_concurrent_counting_upserts_count_exactly_up_to_the_limit(coll) -> None:
    async def take(key: str, limit: int) -> bool:
        counter = {"_id": key, "n": {"$lte": limit - 1}}
        try:
            got = await coll.find_one_and_update(counter, {"$inc": {"n": 1}}, upsert=True,
                                                 return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # MongoDB: the counter exists, or another take created it
            got = await coll.find_one_and_update(counter, {"$inc": {"n": 1}},
                                                 return_document=ReturnDocument.AFTER)
        return got is not None

    small = await asyncio.gather(*(take("small", 10) for _ in range(40)))
    large = await asyncio.gather(*(take("large", 100) for _ in range(40)))
    assert small.count(True) == 10 and large.count(True) == 40
    assert (await coll.find_one({"_id": "small"}))["n"] == 10
    assert (await coll.find_one({"_id": "large"}))["n"] == 40
