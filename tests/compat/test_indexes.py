"""Uniqueness: _id, unique indexes on always-present fields, bulk inserts with duplicates."""

from __future__ import annotations

import pytest
from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.mongo import Index, apply_indexes, is_duplicate

pytestmark = pytest.mark.compat


async def test_insert_with_existing_id_raises_duplicate_key(coll) -> None:
    await coll.insert_one({"_id": "same", "n": 1})
    with pytest.raises(DuplicateKeyError) as caught:
        await coll.insert_one({"_id": "same", "n": 2})
    assert is_duplicate(caught.value)
    assert (await coll.find_one({"_id": "same"}))["n"] == 1


async def test_unique_index_on_always_present_field_raises_duplicate_key(coll) -> None:
    await apply_indexes(coll, [Index.on("email", unique=True)])
    await coll.insert_one({"_id": 1, "email": "a@example.com"})
    with pytest.raises(DuplicateKeyError) as caught:
        await coll.insert_one({"_id": 2, "email": "a@example.com"})
    assert is_duplicate(caught.value)
    assert await coll.find_one({"_id": 2}) is None


async def test_unique_index_allows_distinct_values(coll) -> None:
    await apply_indexes(coll, [Index.on("email", unique=True)])
    await coll.insert_one({"_id": 1, "email": "a@example.com"})
    await coll.insert_one({"_id": 2, "email": "b@example.com"})
    assert len(await coll.find({}).to_list()) == 2


async def test_compound_unique_index_rejects_only_the_same_combination(coll) -> None:
    await apply_indexes(coll, [Index.on("company", "number", unique=True)])
    await coll.insert_one({"_id": 1, "company": "c1", "number": "0001"})
    await coll.insert_one({"_id": 2, "company": "c2", "number": "0001"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": 3, "company": "c1", "number": "0001"})


async def test_replace_one_into_a_unique_value_raises_duplicate_key(coll) -> None:
    await apply_indexes(coll, [Index.on("email", unique=True)])
    await coll.insert_many([{"_id": 1, "email": "a@x"}, {"_id": 2, "email": "b@x"}])
    with pytest.raises(DuplicateKeyError):
        await coll.replace_one({"_id": 2}, {"email": "a@x"})
    assert (await coll.find_one({"_id": 2}))["email"] == "b@x"


async def test_is_duplicate_is_false_for_other_errors() -> None:
    assert not is_duplicate(ValueError("x"))


async def test_create_indexes_applied_twice_is_idempotent(coll) -> None:
    indexes = [Index.on("email", unique=True), Index.on("company", "created")]
    await apply_indexes(coll, indexes)
    await apply_indexes(coll, indexes)
    await coll.create_indexes([IndexModel([("other", ASCENDING)], name="other_1")])
    await coll.create_indexes([IndexModel([("other", ASCENDING)], name="other_1")])
    # Compared by keys, not names: the emulator lists its own names (idx_<collection>_<fields>).
    listed = sorted([(tuple(i["key"].items()), bool(i.get("unique")))
                     async for i in await coll.list_indexes()])
    assert listed == sorted([((("_id", 1),), False), ((("email", 1),), True),
                             ((("company", 1), ("created", 1)), False),
                             ((("other", 1),), False)])
    await coll.insert_one({"_id": 1, "email": "a@x"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": 2, "email": "a@x"})


async def test_create_indexes_returns_the_requested_names(coll) -> None:
    names = await coll.create_indexes([Index.on("email", unique=True).model(),
                                       Index.on("company", "created").model()])
    assert names == ["email_u", "company_created"]


async def test_create_indexes_on_collection_with_data_keeps_data(coll) -> None:
    await coll.insert_many([{"_id": i, "email": f"{i}@x"} for i in range(3)])
    await apply_indexes(coll, [Index.on("email", unique=True)])
    assert len(await coll.find({}).to_list()) == 3


async def test_unordered_insert_many_with_duplicate_raises_and_inserts_the_others(coll) -> None:
    await coll.insert_one({"_id": 2, "n": "original"})
    with pytest.raises(BulkWriteError) as caught:
        await coll.insert_many([{"_id": i, "n": "new"} for i in range(1, 6)], ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 4
    assert [e["index"] for e in details["writeErrors"]] == [1]
    ids = sorted(d["_id"] for d in await coll.find({}).to_list())
    assert ids == [1, 2, 3, 4, 5]
    assert (await coll.find_one({"_id": 2}))["n"] == "original"


async def test_unordered_insert_many_with_unique_index_duplicate_inserts_the_others(coll) -> None:
    await apply_indexes(coll, [Index.on("key", unique=True)])
    docs = [{"_id": 1, "key": "a"}, {"_id": 2, "key": "a"}, {"_id": 3, "key": "b"}]
    with pytest.raises(BulkWriteError) as caught:
        await coll.insert_many(docs, ordered=False)
    assert caught.value.details["nInserted"] == 2
    assert sorted(d["_id"] for d in await coll.find({}).to_list()) == [1, 3]


async def test_ttl_index_removes_documents_whose_date_has_passed(coll) -> None:
    """Counters, decoys and queued requests keyed by what clients send are bounded by a TTL
    index; MongoDB's sweep runs every 60 s, so this waits up to two of them. A document without
    the field stays (other counters share the collection). The emulator also removes a document
    whose field holds a number: the project never stores anything but a date there."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    await apply_indexes(coll, [Index.ttl("expires_at")])
    now = datetime.now(UTC)
    await coll.insert_many([{"_id": "past", "expires_at": now - timedelta(seconds=5)},
                            {"_id": "future", "expires_at": now + timedelta(hours=1)},
                            {"_id": "no-date", "n": 1}])
    for _ in range(150):
        if await coll.find_one({"_id": "past"}) is None:
            break
        await asyncio.sleep(1)
    remaining = sorted(d["_id"] for d in await coll.find({}).to_list())
    assert remaining == ["future", "no-date"]
