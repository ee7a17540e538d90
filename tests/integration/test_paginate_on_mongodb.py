"""paginate: every item exactly once, in order, ties broken by id, filter and projection kept,
items written between pages never shift a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.pagination import encode_cursor, paginate

pytestmark = pytest.mark.integration


async def all_pages(coll: Any, filter: dict[str, Any], limit: int, **kw: Any) -> list[list[Any]]:
    pages, cursor = [], None
    while True:
        page = await paginate(coll, filter, limit=limit, cursor=cursor, **kw)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_pages_by_id_walk_every_item_once_in_order(db: Any) -> None:
    coll = db["things"]
    await coll.insert_many([{"_id": f"t-{i:02d}", "company_id": "c-1"} for i in range(7)]
                           + [{"_id": "t-99", "company_id": "c-2"}])
    pages = await all_pages(coll, {"company_id": "c-1"}, 3, sort="_id",
                            convert=lambda d: d["_id"])
    assert pages == [["t-00", "t-01", "t-02"], ["t-03", "t-04", "t-05"], ["t-06"]]


async def test_equal_sort_values_are_ordered_by_id_across_pages(db: Any) -> None:
    coll = db["things"]
    at = datetime(2026, 3, 1, tzinfo=UTC)
    docs = [{"_id": f"t-{i}", "company_id": "c-1",
             "created_at": at + timedelta(minutes=i // 3)} for i in range(8)]
    await coll.insert_many(docs)
    pages = await all_pages(coll, {"company_id": "c-1"}, 2, sort="created_at",
                            descending=True, convert=lambda d: d["_id"])
    assert [i for p in pages for i in p] == ["t-7", "t-6", "t-5", "t-4", "t-3", "t-2", "t-1",
                                             "t-0"]
    assert all(len(p) == 2 for p in pages)


async def test_a_unique_sort_key_pages_without_the_tie_break(db: Any) -> None:
    coll = db["things"]
    await coll.insert_many([{"_id": f"d-{i}", "sort_key": f"{1000 + i}|d-{i}"} for i in range(5)])
    pages = await all_pages(coll, {}, 2, sort="sort_key", descending=True, tie_break=False,
                            convert=lambda d: d["_id"])
    assert pages == [["d-4", "d-3"], ["d-2", "d-1"], ["d-0"]]


async def test_items_written_between_pages_do_not_shift_the_next_page(db: Any) -> None:
    coll = db["things"]
    await coll.insert_many([{"_id": f"t-{i}", "n": i} for i in range(1, 7)])
    first = await paginate(coll, {}, sort="n", descending=True, limit=2, cursor=None,
                           convert=lambda d: d["_id"])
    await coll.insert_one({"_id": "t-new", "n": 100})  # newer than everything shown
    second = await paginate(coll, {}, sort="n", descending=True, limit=2,
                            cursor=first.next_cursor, convert=lambda d: d["_id"])
    assert first.items == ["t-6", "t-5"] and second.items == ["t-4", "t-3"]


async def test_projection_and_converter_shape_the_items(db: Any) -> None:
    coll = db["things"]
    await coll.insert_many([{"_id": f"t-{i}", "n": i, "secret": "s"} for i in range(3)])
    page = await paginate(coll, {}, sort="n", limit=2, cursor=None,
                          projection={"secret": 0}, convert=lambda d: sorted(d))
    assert page.items == [["_id", "n"], ["_id", "n"]] and page.next_cursor


async def test_a_cursor_of_another_order_or_made_up_is_a_422(db: Any) -> None:
    coll = db["things"]
    await coll.insert_one({"_id": "t-1", "n": 1})
    for cursor in ("made-up", encode_cursor(1)):  # the second lacks the tie-break id
        with pytest.raises(InvalidInput) as caught:
            await paginate(coll, {}, sort="n", limit=2, cursor=cursor, convert=dict)
        assert caught.value.errors[0]["field"] == "query.cursor"
