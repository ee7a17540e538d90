"""Cursors are opaque, URL-safe positions; anything the pager did not issue is a 422."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest

from shared.errors import InvalidInput
from shared.pagination import Position, decode_cursor, decode_position, encode_cursor

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("position", [
    Position("20261031080000000000|inv-2026-10-000098"),
    Position("ünïcode|key", "d-1"),
    Position(17, 3),
    Position(1.5, "x"),
    Position(datetime(2026, 3, 1, 12, 30, tzinfo=UTC), "u-1"),
])
def test_a_cursor_gives_back_the_position_it_was_made_of(position: Position) -> None:
    cursor = encode_cursor(position.key, position.id)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # URL-safe, no padding
    assert decode_position(cursor) == position


def test_decode_cursor_gives_the_text_key() -> None:
    assert decode_cursor(encode_cursor("h42")) == "h42"


@pytest.mark.parametrize("cursor", [
    "xyz", "!!!", "", base64.urlsafe_b64encode(b"h42").decode(),  # the former format
    base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    base64.urlsafe_b64encode(b"[true]").decode(),
    base64.urlsafe_b64encode(b'["k", [1]]').decode(),
    base64.urlsafe_b64encode(b'["k", "i", "x"]').decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
def test_a_cursor_it_did_not_issue_is_a_422_naming_query_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_position(cursor)
    assert caught.value.errors == [{"field": "query.cursor", "rule": "cursor",
                                    "message": "Pass the next_cursor of the previous page as is."}]


def test_decode_cursor_refuses_a_number_key() -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor(5))


def test_a_cursor_can_not_hold_what_it_could_not_give_back() -> None:
    with pytest.raises(TypeError):
        encode_cursor(True)
