"""Queries: operators, booleans written by $set, dotted paths, pagination, projection."""

from __future__ import annotations

import pytest
from bson import ObjectId

pytestmark = pytest.mark.compat


async def ids(cursor) -> list:
    return [d["_id"] for d in await cursor.to_list()]


async def test_in_matches_any_listed_value(coll) -> None:
    await coll.insert_many([{"_id": i, "status": s} for i, s in
                            enumerate(["open", "paid", "void", "open"])])
    assert await ids(coll.find({"status": {"$in": ["open", "void"]}}).sort("_id", 1)) == [0, 2, 3]
    assert await ids(coll.find({"_id": {"$in": [1, 3, 99]}}).sort("_id", 1)) == [1, 3]
    assert await ids(coll.find({"status": {"$in": []}})) == []


async def test_gt_and_lt_on_numbers(coll) -> None:
    await coll.insert_many([{"_id": i, "n": i * 10, "f": i + 0.5} for i in range(6)])
    assert await ids(coll.find({"n": {"$gt": 10, "$lt": 40}}).sort("_id", 1)) == [2, 3]
    assert await ids(coll.find({"f": {"$lt": 2.0}}).sort("_id", 1)) == [0, 1]
    assert await ids(coll.find({"n": {"$gte": 40}}).sort("_id", 1)) == [4, 5]
    assert await ids(coll.find({"n": {"$lte": 10}}).sort("_id", 1)) == [0, 1]


async def test_gt_and_lt_on_strings_compare_lexicographically(coll) -> None:
    await coll.insert_many([{"_id": k} for k in ["2024-01-31", "2024-02-01", "2024-02-15",
                                                 "2024-03-01", "a", "b"]])
    found = await ids(coll.find({"_id": {"$gt": "2024-01-31", "$lt": "2024-03-01"}})
                      .sort("_id", 1))
    assert found == ["2024-02-01", "2024-02-15"]
    assert await ids(coll.find({"_id": {"$gt": "a"}})) == ["b"]


async def test_nin_on_array_of_strings_matches_documents_without_that_member(coll) -> None:
    """The consumer idiom ``{"_id": x, "applied": {"$nin": [event_id]}}``.

    Not ``{"$ne": event_id}``: on the emulator ``$ne`` against an array field matches
    documents whose array contains the value.
    """
    await coll.insert_many([{"_id": 1, "applied": ["e1", "e2"]}, {"_id": 2, "applied": []}])
    assert await coll.find_one({"_id": 1, "applied": {"$nin": ["e2"]}}) is None
    assert await coll.find_one({"_id": 1, "applied": {"$nin": ["e3"]}}) is not None
    assert await coll.find_one({"_id": 2, "applied": {"$nin": ["e1"]}}) is not None
    assert await coll.find_one({"_id": 1, "applied": "e1"}) is not None


async def test_conditional_update_records_a_consumed_event_once(coll) -> None:
    await coll.insert_one({"_id": 1, "n": 0, "applied": []})
    for _ in range(2):  # the same event delivered twice
        doc = await coll.find_one({"_id": 1})
        await coll.update_one({"_id": 1, "applied": {"$nin": ["evt-1"]}},
                              {"$set": {"n": doc["n"] + 1, "applied": [*doc["applied"], "evt-1"]}})
    assert await coll.find_one({"_id": 1}) == {"_id": 1, "n": 1, "applied": ["evt-1"]}


async def test_nin_on_scalar_excludes_listed_values(coll) -> None:
    await coll.insert_many([{"_id": 1, "s": "x"}, {"_id": 2, "s": "y"}, {"_id": 3, "s": "z"}])
    assert await ids(coll.find({"s": {"$nin": ["x", "z"]}})) == [2]


async def test_ne_on_scalar_excludes_only_that_value(coll) -> None:
    await coll.insert_many([{"_id": 1, "s": "x"}, {"_id": 2, "s": "y"}])
    assert await ids(coll.find({"s": {"$ne": "x"}})) == [2]


async def test_equality_on_booleans_set_by_set(coll) -> None:
    await coll.insert_many([{"_id": i, "flag": False} for i in range(4)])
    await coll.update_one({"_id": 1}, {"$set": {"flag": True}})
    await coll.update_one({"_id": 2}, {"$set": {"flag": True}})
    await coll.update_one({"_id": 2}, {"$set": {"flag": False}})
    assert await ids(coll.find({"flag": True}).sort("_id", 1)) == [1]
    assert await ids(coll.find({"flag": False}).sort("_id", 1)) == [0, 2, 3]


async def test_boolean_set_by_set_reads_back_with_its_truth_value(coll) -> None:
    # Only truthiness is relied on: the emulator returns 1/0 here, MongoDB True/False.
    await coll.insert_one({"_id": 1, "on": False, "off": True})
    await coll.update_one({"_id": 1}, {"$set": {"on": True, "off": False}})
    got = await coll.find_one({"_id": 1})
    assert got["on"] and not got["off"]
    assert got["on"] == True and got["off"] == False  # noqa: E712


async def test_boolean_read_back_and_written_whole_still_matches_true(coll) -> None:
    """A flag read after a $set and saved again with replace_one (what Aggregates.update does)."""
    await coll.insert_one({"_id": 1, "flag": False, "version": 1})
    await coll.update_one({"_id": 1}, {"$set": {"flag": True}})
    doc = await coll.find_one({"_id": 1})
    doc["version"] = 2
    await coll.replace_one({"_id": 1, "version": 1}, doc)
    assert await coll.find_one({"_id": 1, "flag": True}) is not None
    assert await coll.find_one({"_id": 1, "flag": False}) is None


async def test_dotted_path_into_subdocument(coll) -> None:
    await coll.insert_many([
        {"_id": 1, "address": {"city": {"name": "Berlin"}, "zip": "10115"}},
        {"_id": 2, "address": {"city": {"name": "Hamburg"}, "zip": "20095"}},
    ])
    assert await ids(coll.find({"address.city.name": "Hamburg"})) == [2]
    assert await ids(coll.find({"address.zip": {"$in": ["10115", "x"]}})) == [1]


async def test_dotted_path_into_array_of_subdocuments(coll) -> None:
    await coll.insert_many([
        {"_id": 1, "contacts": [{"kind": "email", "value": "a@x"},
                                {"kind": "phone", "value": "+49 1"}]},
        {"_id": 2, "contacts": [{"kind": "email", "value": "b@x"}]},
        {"_id": 3, "contacts": []},
    ])
    assert await ids(coll.find({"contacts.value": "a@x"})) == [1]
    assert await ids(coll.find({"contacts.kind": "email"}).sort("_id", 1)) == [1, 2]
    assert await ids(coll.find({"contacts.kind": "phone"})) == [1]
    assert await ids(coll.find({"contacts.value": "zzz"})) == []
    # Only equality: $in/$gt/$ne through a path into an array are broken on the emulator.


async def test_elem_match_with_equality_and_range_on_array_of_subdocuments(coll) -> None:
    await coll.insert_many([
        {"_id": 1, "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 5}]},
        {"_id": 2, "lines": [{"sku": "b", "qty": 2}]},
    ])
    assert await ids(coll.find({"lines": {"$elemMatch": {"sku": "b", "qty": 2}}})) == [2]
    assert await ids(coll.find({"lines": {"$elemMatch": {"sku": "a", "qty": 5}}})) == []
    assert await ids(coll.find({"lines": {"$elemMatch": {"qty": {"$gt": 3}}}})) == [1]


async def test_dotted_path_into_array_set_by_set(coll) -> None:
    await coll.insert_one({"_id": 1, "members": []})
    await coll.update_one({"_id": 1}, {"$set": {"members": [{"user": "u1", "role": "admin"}]}})
    assert await ids(coll.find({"members.user": "u1"})) == [1]
    assert await ids(coll.find({"members.role": "admin"})) == [1]


async def test_equality_on_array_of_strings_matches_a_member(coll) -> None:
    await coll.insert_many([{"_id": 1, "roles": ["admin", "billing"]}, {"_id": 2, "roles": []}])
    assert await ids(coll.find({"roles": "billing"})) == [1]
    assert await ids(coll.find({"roles": {"$in": ["admin", "x"]}})) == [1]


async def test_sort_and_limit_paginate_by_string_id(coll) -> None:
    all_ids = [f"inv-{i:04d}" for i in range(25)]
    await coll.insert_many([{"_id": i, "company": "c1"} for i in reversed(all_ids)])
    await coll.insert_many([{"_id": f"other-{i}", "company": "c2"} for i in range(5)])
    seen: list[str] = []
    last = None
    while True:
        query = {"company": "c1"} | ({"_id": {"$gt": last}} if last else {})
        page = await ids(coll.find(query).sort("_id", 1).limit(10))
        if not page:
            break
        assert len(page) <= 10
        seen += page
        last = page[-1]
    assert seen == all_ids


async def test_sort_and_limit_paginate_by_object_id(coll) -> None:
    inserted = (await coll.insert_many([{"n": i} for i in range(12)])).inserted_ids
    assert all(isinstance(i, ObjectId) for i in inserted)
    seen: list[ObjectId] = []
    last = None
    while True:
        page = await ids(coll.find({"_id": {"$gt": last}} if last else {}).sort("_id", 1)
                         .limit(5))
        if not page:
            break
        seen += page
        last = page[-1]
    assert seen == sorted(inserted)
    assert len(set(seen)) == 12


async def test_sort_descending_and_by_several_keys(coll) -> None:
    await coll.insert_many([{"_id": 1, "g": "a", "n": 2}, {"_id": 2, "g": "b", "n": 1},
                            {"_id": 3, "g": "a", "n": 1}])
    assert await ids(coll.find({}).sort("_id", -1)) == [3, 2, 1]
    assert await ids(coll.find({}).sort([("g", 1), ("n", 1)])) == [3, 1, 2]
    assert await ids(coll.find({}).sort([("n", -1), ("_id", 1)]).limit(1)) == [1]


async def test_projection_includes_only_listed_fields_and_id(coll) -> None:
    await coll.insert_one({"_id": 1, "a": 1, "b": {"c": 2}, "secret": "x"})
    assert await coll.find_one({"_id": 1}, {"a": 1, "b": 1}) == {"_id": 1, "a": 1, "b": {"c": 2}}
    assert await coll.find({}, {"_id": 1}).to_list() == [{"_id": 1}]
    assert await coll.find_one({"_id": 1}, {"a": 1, "_id": 0}) == {"a": 1}


async def test_projection_excludes_listed_fields(coll) -> None:
    await coll.insert_one({"_id": 1, "a": 1, "secret": "x", "hash": "y"})
    assert await coll.find_one({"_id": 1}, {"secret": 0, "hash": 0}) == {"_id": 1, "a": 1}


async def test_find_to_list_returns_every_match_and_respects_limit(coll) -> None:
    await coll.insert_many([{"_id": i, "g": i % 2} for i in range(30)])
    assert len(await coll.find({"g": 0}).to_list()) == 15
    assert len(await coll.find({}).limit(7).to_list()) == 7
    assert await coll.find({"g": 5}).to_list() == []


async def test_find_one_of_missing_document_is_none(coll) -> None:
    assert await coll.find_one({"_id": "missing"}) is None
