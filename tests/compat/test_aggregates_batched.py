"""Concurrent ``Aggregates.create`` calls go to MongoDB as one unordered insert; each caller
still gets its own outcome, and each aggregate written with events is handed over."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import DuplicateKeyError

from shared.events import make_event
from shared.mongo import Aggregates

pytestmark = pytest.mark.compat


def event(n: int, subject: str) -> dict:
    return make_event("test.thing.happened.v1", {"n": n}, source="compat", subject=subject,
                      company_id="c1")


def counting_commands(store: Aggregates) -> list[int]:
    """Documents per insert command the store sends."""
    sizes: list[int] = []
    collection = store.collection
    insert_one, insert_many = collection.insert_one, collection.insert_many

    async def one(doc, *args, **kwargs):
        sizes.append(1)
        return await insert_one(doc, *args, **kwargs)

    async def many(docs, *args, **kwargs):
        sizes.append(len(docs))
        return await insert_many(docs, *args, **kwargs)

    collection.insert_one, collection.insert_many = one, many  # type: ignore[method-assign]
    return sizes


async def test_concurrent_creates_go_together_and_a_duplicate_fails_its_caller_alone(
        store) -> None:
    await store.create({"_id": "agg-0", "email": "0@x"})
    sizes = counting_commands(store)
    docs = [{"_id": f"agg-{i}", "email": f"{i}@x"} for i in range(1, 9)]
    docs[3]["_id"] = "agg-0"  # exists already
    docs[6]["email"] = "1@x"  # the unique key of another document of the same command
    results = await asyncio.gather(
        *(store.create(d, [event(i, d["_id"])]) for i, d in enumerate(docs)),
        return_exceptions=True)
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [3, 6]
    assert all(isinstance(results[i], DuplicateKeyError) for i in failed)
    assert sizes == [8]  # asked for in the same turn of the event loop: one command
    for i, d in enumerate(docs):
        if i not in failed:
            assert (await store.get({"_id": d["_id"]}))["email"] == d["email"]
    assert len(store.woken) == 6  # each aggregate written with events, once


async def test_create_once_reports_the_duplicate_to_its_caller_only(store) -> None:
    await store.create({"_id": "agg-1"})
    created = await asyncio.gather(*(store.create_once({"_id": f"agg-{i}"}) for i in range(4)))
    assert created == [True, False, True, True]


async def test_a_create_cancelled_before_its_command_left_is_not_written(store) -> None:
    first = asyncio.create_task(store.create({"_id": "agg-1"}, [event(1, "agg-1")]))
    await asyncio.sleep(0)  # the first command is on its way
    second = asyncio.create_task(store.create({"_id": "agg-2"}, [event(2, "agg-2")]))
    third = asyncio.create_task(store.create({"_id": "agg-3"}, [event(3, "agg-3")]))
    await asyncio.sleep(0)
    second.cancel()
    await first
    await third
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await store.get({"_id": "agg-2"}) is None
    assert await store.get({"_id": "agg-3"}) is not None
    assert len(store.woken) == 2
