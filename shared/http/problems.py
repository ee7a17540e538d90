"""Errors as RFC 9457 problem details, and JSON answers.

Each error category of ``shared.errors`` answers with one status (``STATUS_BY_CATEGORY``),
looked up along the error class's MRO, so a problem type has one status in every service.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.logging import correlation_id
from shared.protocol import PROBLEM_JSON

# The one status of each error category: a problem answers with the status of the first
# category in its class's MRO.
STATUS_BY_CATEGORY: dict[type[Problem], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    Gone: 410,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unprocessable: 422,
    TooManyRequests: 429,
    InternalError: 500,
    Unavailable: 503,
    Problem: 400,  # a problem of no category: the client's request, as sent, is refused
}


def status_of(problem: Problem | type[Problem]) -> int:
    """The HTTP status that answers ``problem`` (an error or an error class)."""
    cls = problem if isinstance(problem, type) else type(problem)
    for klass in cls.__mro__:
        if klass in STATUS_BY_CATEGORY:
            return STATUS_BY_CATEGORY[klass]
    raise TypeError(f"{cls.__name__} is not a Problem")


def problem_body(problem: Problem, status: int | None = None,
                 instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 members, then the extension members (which never replace them)."""
    body: dict[str, Any] = {"type": problem.type, "title": problem.title,
                            "status": status_of(problem) if status is None else status}
    if problem.detail:
        body["detail"] = problem.detail
    if instance:
        body["instance"] = instance
    for name, value in problem.extra.items():
        body.setdefault(name, value)
    return body


def problem_response(problem: Problem, request: web.Request | None = None,
                     headers: dict[str, str] | None = None,
                     status: int | None = None) -> web.Response:
    """``problem`` as an RFC 9457 ``application/problem+json`` response, with the status of
    its category (``status`` only for aiohttp's own refusals, which have no category)."""
    status = status_of(problem) if status is None else status
    body = problem_body(problem, status, request.path if request is not None else None)
    cid = correlation_id.get()
    if cid:
        body.setdefault("correlation_id", cid)
    if problem.extra.get("retry_after"):
        retry = str(max(1, int(problem.extra["retry_after"])))
        headers = {**(headers or {}), "Retry-After": retry}
    return web.Response(status=status, text=json_text(body),
                        content_type=PROBLEM_JSON, headers=headers)


def json_text(data: Any) -> str:
    """``data`` as JSON: models, datetimes and the like nested anywhere written the way
    pydantic writes them."""
    return json.dumps(to_jsonable_python(data, by_alias=True, fallback=str))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    """``data`` (a model, or JSON-like data holding models) as an application/json response."""
    text = data.model_dump_json(by_alias=True) if isinstance(data, BaseModel) else json_text(data)
    return web.Response(status=status, text=text, content_type="application/json",
                        headers=headers)
