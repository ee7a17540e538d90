"""Conditional writes: version-guarded replace, update_one with $set/$inc, upsert, deletes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import UpdateOne

pytestmark = pytest.mark.compat


async def test_replace_with_current_version_matches_one(coll) -> None:
    await coll.insert_one({"_id": "a", "version": 1, "name": "old"})
    result = await coll.replace_one({"_id": "a", "version": 1},
                                    {"version": 2, "name": "new"})
    assert result.matched_count == 1
    assert await coll.find_one({"_id": "a"}) == {"_id": "a", "version": 2, "name": "new"}


async def test_replace_with_stale_version_matches_nothing(coll) -> None:
    await coll.insert_one({"_id": "a", "version": 2, "name": "current"})
    result = await coll.replace_one({"_id": "a", "version": 1},
                                    {"version": 2, "name": "lost update"})
    assert result.matched_count == 0
    assert (await coll.find_one({"_id": "a"}))["name"] == "current"


async def test_replace_of_missing_document_matches_nothing_and_inserts_nothing(coll) -> None:
    result = await coll.replace_one({"_id": "nope", "version": 1}, {"version": 2})
    assert result.matched_count == 0
    assert await coll.find_one({"_id": "nope"}) is None


async def test_update_one_sets_array_of_subdocuments(coll) -> None:
    await coll.insert_one({"_id": 1, "items": [{"seq": 1, "event": {"id": "e1"}}]})
    rest = [{"seq": 2, "event": {"id": "e2", "data": {"n": 1, "tags": ["x"]}}},
            {"seq": 3, "event": {"id": "e3", "subject": None}}]
    result = await coll.update_one({"_id": 1}, {"$set": {"items": rest}})
    assert result.matched_count == 1
    got = await coll.find_one({"_id": 1})
    assert got["items"] == rest
    assert isinstance(got["items"][0]["event"], dict), "sub-documents stay documents"


async def test_update_one_sets_empty_array(coll) -> None:
    await coll.insert_one({"_id": 1, "items": [{"seq": 1}]})
    await coll.update_one({"_id": 1}, {"$set": {"items": []}})
    assert (await coll.find_one({"_id": 1}))["items"] == []


async def test_update_one_sets_strings_numbers_and_increments(coll) -> None:
    await coll.insert_one({"_id": 1, "version": 1, "owner": "x", "n": 0})
    await coll.update_one({"_id": 1}, {"$set": {"owner": "", "lease": 0.0, "n": 7},
                                       "$inc": {"version": 1}})
    got = await coll.find_one({"_id": 1})
    assert got["owner"] == "" and got["n"] == 7 and got["version"] == 2
    assert got["lease"] == 0.0


async def test_update_one_sets_nested_field_by_dotted_path(coll) -> None:
    await coll.insert_one({"_id": 1, "profile": {"name": "a", "city": "b"}})
    await coll.update_one({"_id": 1}, {"$set": {"profile.name": "z"}})
    assert (await coll.find_one({"_id": 1}))["profile"] == {"name": "z", "city": "b"}


async def test_update_one_set_float_reads_back_close_and_compares_by_range(coll) -> None:
    lease = 1_700_000_000.123456789
    await coll.insert_one({"_id": 1, "lease": 0.0})
    await coll.update_one({"_id": 1}, {"$set": {"lease": lease}})
    got = (await coll.find_one({"_id": 1}))["lease"]
    # Not exact on the emulator (about 15 significant digits): never compared for equality.
    assert got == pytest.approx(lease, abs=1e-4)
    assert await coll.find_one({"lease": {"$lt": lease + 0.01}}) is not None
    assert await coll.find_one({"lease": {"$gt": lease - 0.01}}) is not None
    assert await coll.find_one({"lease": {"$lt": lease - 0.01}}) is None


async def test_update_one_matched_count_is_one_when_filter_matches(coll) -> None:
    await coll.insert_one({"_id": 1, "owner": "me", "seq": 4})
    result = await coll.update_one({"_id": 1, "owner": "me", "seq": 4},
                                   {"$set": {"owner": ""}})
    assert result.matched_count == 1


async def test_update_one_matched_count_is_zero_when_a_condition_fails(coll) -> None:
    await coll.insert_one({"_id": 1, "owner": "me", "seq": 4})
    result = await coll.update_one({"_id": 1, "owner": "me", "seq": 5},
                                   {"$set": {"owner": ""}})
    assert result.matched_count == 0
    assert (await coll.find_one({"_id": 1}))["owner"] == "me"


async def test_update_one_changes_only_the_first_of_several_matches(coll) -> None:
    await coll.insert_many([{"_id": i, "group": "g", "done": False} for i in range(3)])
    result = await coll.update_one({"group": "g"}, {"$set": {"done": True}})
    assert result.matched_count == 1
    assert len(await coll.find({"done": True}).to_list()) == 1


async def test_upsert_with_set_inserts_when_missing(coll) -> None:
    result = await coll.update_one({"_id": "k1"}, {"$set": {"n": 1, "name": "a"}}, upsert=True)
    assert result.matched_count == 0
    assert result.upserted_id == "k1"
    assert await coll.find_one({"_id": "k1"}) == {"_id": "k1", "n": 1, "name": "a"}


async def test_upsert_with_set_updates_when_present(coll) -> None:
    await coll.insert_one({"_id": "k1", "n": 1, "keep": "yes"})
    result = await coll.update_one({"_id": "k1"}, {"$set": {"n": 2}}, upsert=True)
    assert result.matched_count == 1
    assert result.upserted_id is None
    assert await coll.find_one({"_id": "k1"}) == {"_id": "k1", "n": 2, "keep": "yes"}


async def test_upsert_copies_equality_fields_of_filter_into_new_document(coll) -> None:
    result = await coll.update_one({"company": "c1", "key": "k"}, {"$set": {"n": 1}},
                                   upsert=True)
    got = await coll.find_one({"_id": result.upserted_id})
    assert got["company"] == "c1" and got["key"] == "k" and got["n"] == 1


async def test_delete_one_removes_a_single_match(coll) -> None:
    await coll.insert_many([{"_id": i, "g": "x"} for i in range(3)])
    result = await coll.delete_one({"g": "x"})
    assert result.deleted_count == 1
    assert len(await coll.find({"g": "x"}).to_list()) == 2


async def test_delete_one_of_missing_document_deletes_nothing(coll) -> None:
    result = await coll.delete_one({"_id": "nope"})
    assert result.deleted_count == 0


async def test_delete_many_removes_every_match(coll) -> None:
    await coll.insert_many([{"_id": i, "g": "x" if i < 4 else "y"} for i in range(6)])
    result = await coll.delete_many({"g": "x"})
    assert result.deleted_count == 4
    assert [d["_id"] for d in await coll.find({}).sort("_id", 1).to_list()] == [4, 5]


async def test_unordered_bulk_of_version_guarded_set_counts_the_matches(coll) -> None:
    """Several saves in one command (``bulk_write`` of ``UpdateOne``): each document guarded by
    its version, ``matched_count`` the number of those whose version was current. (Datetimes
    inside arrays of sub-documents stay datetimes; at the top level of a ``$set`` the emulator
    writes them as strings, as it does for ``update_one``.)"""
    at = datetime(2026, 11, 24, 10, 0, 0, 123000, tzinfo=UTC)
    await coll.insert_many([{"_id": i, "version": 1, "status": "queued"} for i in range(4)])
    result = await coll.bulk_write([
        UpdateOne({"_id": i, "version": 1 if i != 2 else 7},
                  {"$set": {"version": 2, "status": "sent",
                            "attempts": [{"at": at, "outcome": "sent", "claim": f"c{i}"}]}})
        for i in range(4)], ordered=False)
    assert result.matched_count == 3
    got = {d["_id"]: d for d in await coll.find({}).to_list()}
    assert got[2] == {"_id": 2, "version": 1, "status": "queued"}
    assert got[3]["version"] == 2 and got[3]["status"] == "sent"
    assert got[3]["attempts"] == [{"at": at, "outcome": "sent", "claim": "c3"}]
