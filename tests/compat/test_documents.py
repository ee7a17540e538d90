"""Whole documents written by insert_one/replace_one come back exactly as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId

pytestmark = pytest.mark.compat

AT = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def sample() -> dict:
    return {
        "_id": "cust-1",
        "name": "Müller & Söhne GmbH",
        "count": 3,
        "big": 2**62,
        "ratio": 0.1 + 0.2,
        "active": True,
        "closed": False,
        "note": None,
        "tags": ["a", "b"],
        "address": {"street": "Hauptstr. 1", "city": {"name": "Berlin", "zip": "10115"}},
        "contacts": [
            {"kind": "email", "value": "a@example.com", "verified": True, "since": AT},
            {"kind": "phone", "value": "+4930123456", "verified": False, "meta": {"n": 1}},
        ],
        "created_at": AT,
        "history": [{"at": AT, "events": [{"seq": 1, "event": {"id": "e1", "subject": None}}]}],
        "empty_list": [],
        "empty_doc": {},
        "ref": ObjectId("65f0a1b2c3d4e5f6a7b8c9d0"),
    }


async def test_insert_then_find_one_round_trips_nested_documents_and_arrays(coll) -> None:
    doc = sample()
    await coll.insert_one(dict(doc))
    assert await coll.find_one({"_id": "cust-1"}) == doc


async def test_insert_keeps_python_types_of_values(coll) -> None:
    await coll.insert_one(sample())
    got = await coll.find_one({"_id": "cust-1"})
    assert got["active"] is True and got["closed"] is False
    assert type(got["count"]) is int and got["big"] == 2**62
    assert got["ratio"] == 0.1 + 0.2, "floats written whole keep every digit"
    assert isinstance(got["ref"], ObjectId)


async def test_datetimes_inside_documents_come_back_utc_aware_from_insert(coll) -> None:
    await coll.insert_one(sample())
    got = await coll.find_one({"_id": "cust-1"})
    for value in (got["created_at"], got["contacts"][0]["since"], got["history"][0]["at"]):
        assert isinstance(value, datetime)
        assert value.utcoffset() == timedelta(0)
        assert value == AT


async def test_datetimes_inside_documents_come_back_utc_aware_from_replace(coll) -> None:
    await coll.insert_one({"_id": 1, "v": 1})
    later = AT + timedelta(days=1)
    await coll.replace_one({"_id": 1}, {"v": 2, "at": later, "items": [{"at": later}],
                                        "nested": {"deep": {"at": later}}})
    got = await coll.find_one({"_id": 1})
    assert got == {"_id": 1, "v": 2, "at": later, "items": [{"at": later}],
                   "nested": {"deep": {"at": later}}}
    assert got["items"][0]["at"].utcoffset() == timedelta(0)


async def test_datetime_with_other_offset_is_stored_as_the_same_instant_in_utc(coll) -> None:
    plus_two = datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    await coll.insert_one({"_id": 1, "at": plus_two})
    got = (await coll.find_one({"_id": 1}))["at"]
    assert got == plus_two
    assert got.utcoffset() == timedelta(0) and got.hour == 7


async def test_datetimes_keep_millisecond_precision(coll) -> None:
    await coll.insert_one({"_id": 1, "at": AT.replace(microsecond=123456)})
    got = (await coll.find_one({"_id": 1}))["at"]
    assert got == AT.replace(microsecond=123000), "BSON datetimes have millisecond precision"


async def test_query_on_datetime_ranges(coll) -> None:
    await coll.insert_many([{"_id": i, "at": AT + timedelta(hours=i)} for i in range(5)])
    found = await coll.find({"at": {"$gt": AT + timedelta(hours=1),
                                    "$lt": AT + timedelta(hours=4)}}).sort("_id", 1).to_list()
    assert [d["_id"] for d in found] == [2, 3]
    assert await coll.find_one({"at": AT + timedelta(hours=2)}) is not None


async def test_replace_one_swaps_whole_document_and_keeps_id(coll) -> None:
    await coll.insert_one({"_id": "x", "a": 1, "b": {"c": 2}})
    result = await coll.replace_one({"_id": "x"}, {"a": 5, "d": [{"e": 1}]})
    assert result.matched_count == 1
    assert await coll.find_one({"_id": "x"}) == {"_id": "x", "a": 5, "d": [{"e": 1}]}
