"""Opaque page cursors: the sort key of the last item of a page, URL-safe, refused with a
problem naming ``query.cursor`` when a client sends something it was not given."""

from __future__ import annotations

import base64

from shared.errors import InvalidInput


def encode_cursor(key: str) -> str:
    """The ``next_cursor`` a client passes back as is."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sort key ``encode_cursor`` was given; a 422 problem for anything else."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput([{"field": "query.cursor", "rule": "cursor",
                             "message": "Pass the next_cursor of the previous page as is."}]
                           ) from None
