"""Pages of a collection with opaque cursors: one pager and one cursor format for the platform.

A page is read in a fixed order: a sort field, then ``_id`` to break ties. The ``next_cursor``
of a page names where it ended (the last item's sort value and ``_id``), URL-safe and opaque;
the next page starts strictly after it, so items written meanwhile never shift a page. A
cursor the pager did not issue is a 422 naming ``query.cursor``. Cursors are short-lived
positions, not identifiers: clients pass them back as they got them and never store them.

Use it from a service's read side (``views.py``)::

    page = await paginate(
        store.users.collection,                      # whose documents
        {"company_id": company_id, "status": "active"},  # the filter (tenant first)
        sort="created_at", descending=True,          # the order (``_id`` breaks ties)
        limit=query.limit, cursor=query.cursor,      # from the request
        convert=User.model_validate,                 # a document -> the response item
        projection={"password_hash": 0},             # optional
    )
    return UserPage(items=page.items, next_cursor=page.next_cursor)

``sort="_id"`` pages by id alone. A sort field that is unique by itself (a ``sort_key`` that
already ends with the id) may pass ``tie_break=False``: the query then sorts by that field
only, so an index on ``(filter fields, sort field)`` serves it as before.

A pager over something other than one query (merged sources, an embedded list) encodes its
position with ``encode_cursor`` and reads it back with ``decode_cursor`` or
``decode_position``: the same format and the same 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.errors import InvalidInput

__all__ = ["Page", "Position", "decode_cursor", "decode_position", "encode_cursor",
           "paginate"]

T = TypeVar("T")
# The sort values a cursor can hold (and ids: strings or numbers).
SortValue = str | int | float | datetime
_DATE = "$d"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items, and the cursor of the next page (None on the last one)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's sort value and ``_id`` (None when sorted by id)."""

    key: SortValue
    id: str | int | None = None


def encode_cursor(key: SortValue, id: str | int | None = None) -> str:
    """The ``next_cursor`` for a page that ended at ``key`` (and ``id``, the tie-break)."""
    value: Any = {_DATE: key.isoformat()} if isinstance(key, datetime) else key
    if not isinstance(value, (str, int, float, dict)) or isinstance(value, bool):
        raise TypeError(f"a cursor can not hold a {type(key).__name__}")
    raw = json.dumps([value] if id is None else [value, id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str) -> Position:
    """The position ``encode_cursor`` was given; a 422 problem for anything else."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
            raise ValueError("not a position")
        key = _key(raw[0])
        _id = raw[1] if len(raw) == 2 else None
        if _id is not None and (not isinstance(_id, (str, int)) or isinstance(_id, bool)):
            raise ValueError("not an id")
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise _foreign_cursor() from None
    return Position(key, _id)


def decode_cursor(cursor: str) -> str:
    """The text sort key of a cursor ``encode_cursor(key)`` made; a 422 for anything else."""
    key = decode_position(cursor).key
    if not isinstance(key, str):
        raise _foreign_cursor()
    return key


async def paginate(collection: AsyncCollection[Any], filter: Mapping[str, Any], *,
                   sort: str, limit: int, cursor: str | None,
                   convert: Callable[[dict[str, Any]], T], descending: bool = False,
                   projection: Mapping[str, Any] | None = None,
                   tie_break: bool = True) -> Page[T]:
    """One page of the documents matching ``filter``, ordered by ``sort`` (then ``_id``),
    at most ``limit`` items, starting after ``cursor``; each document through ``convert``.

    ``projection`` must keep ``sort`` and ``_id`` (they make the next cursor).
    """
    if limit < 1:
        raise ValueError("a page holds at least one item")
    by_id = sort == "_id" or not tie_break
    query: dict[str, Any] = dict(filter)
    if cursor is not None:
        after = _after(sort, decode_position(cursor), descending, by_id)
        query = {"$and": [query, after]} if query else after
    direction = DESCENDING if descending else ASCENDING
    order = [(sort, direction)] if by_id else [(sort, direction), ("_id", direction)]
    docs = await collection.find(query, projection).sort(order).limit(limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    next_cursor = None
    if more and docs:
        last = docs[-1]
        next_cursor = encode_cursor(_field(last, sort), None if by_id else last["_id"])
    return Page([convert(d) for d in docs], next_cursor)


def _after(sort: str, at: Position, descending: bool, by_sort_alone: bool) -> dict[str, Any]:
    beyond = "$lt" if descending else "$gt"
    if by_sort_alone:
        return {sort: {beyond: at.key}}
    if at.id is None:  # a cursor of another pager's order
        raise _foreign_cursor()
    return {"$or": [{sort: {beyond: at.key}}, {sort: at.key, "_id": {beyond: at.id}}]}


def _key(value: Any) -> SortValue:
    if isinstance(value, dict) and set(value) == {_DATE} and isinstance(value[_DATE], str):
        return datetime.fromisoformat(value[_DATE])
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise ValueError("not a sort value")


def _field(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value[part]
    return value


def _foreign_cursor() -> InvalidInput:
    return InvalidInput([{"field": "query.cursor", "rule": "cursor",
                          "message": "Pass the next_cursor of the previous page as is."}])
