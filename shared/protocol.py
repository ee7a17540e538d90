"""Requests that are not HTTP (an unknown method, a NUL byte in a header, a broken request
line) answered like every other refusal: an RFC 9457 problem and a warning without a traceback.

aiohttp refuses such requests in its protocol layer, before any middleware runs, with a
text/plain body and an error log carrying a traceback (``RequestHandler.handle_error``).
aiohttp 3.14 has no public hook for that answer (aio-libs/aiohttp#3287 is still open), so
the kit gives the application a server whose connections use a ``RequestHandler`` subclass
that overrides ``handle_error``; everything else stays aiohttp's own behaviour. Every way of
serving the app (``web.run_app``, ``AppRunner``, ``TestServer``) goes through
``Application._make_handler``, which is where the subclass is put in.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web, web_protocol, web_server
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    LineTooLong,
)

from shared.logging import get_logger

log = get_logger("http")
PROBLEM_JSON = "application/problem+json"


def _describe(status: int, exc: BaseException | None) -> tuple[int, str, str]:
    """(status, problem slug, detail) for what aiohttp could not read. The detail never
    repeats what the client sent: it may be binary garbage or an attack."""
    if isinstance(exc, BadHttpMethod):
        return 501, "method-not-implemented", "The request method is not one this server knows."
    if isinstance(exc, BadStatusLine):
        return 400, "malformed-request", "The request line is not valid HTTP."
    if isinstance(exc, LineTooLong):
        return 431 if "header" in str(exc).lower() else 414, "request-too-large", (
            "A line of the request is longer than this server accepts.")
    if isinstance(exc, InvalidHeader):
        return 400, "malformed-request", "A header of the request is not valid HTTP."
    if isinstance(exc, HttpProcessingError):
        return status or 400, "malformed-request", "The request is not valid HTTP."
    if status == 504:
        return 504, "timeout", "The request took too long."
    return 500, "internal-error", "Something went wrong on our side."


class _ProblemRequestHandler(web_protocol.RequestHandler):
    """aiohttp's connection handler, answering malformed requests with problem details."""

    __slots__ = ()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of a response is out: aiohttp closes the connection (and logs it).
            return super().handle_error(request, status, exc, message)
        status, slug, detail = _describe(status, exc)
        if status >= 500 and status != 501 and status != 504:
            # Not the client's doing: a fault of ours reaching the protocol layer.
            log.error("unhandled error in the HTTP layer", exc_info=exc)
        else:
            log.warning("malformed HTTP request refused", http_status=status, kind=slug,
                        reason=type(exc).__name__ if exc else "", peer=request.remote)
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Bad request"
        body = {"type": f"/problems/{slug}", "title": title, "status": status,
                "detail": detail}
        resp = web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_JSON)
        resp.force_close()
        return resp


class _ProblemServer(web_server.Server):
    def __call__(self) -> web_protocol.RequestHandler:
        return _ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


def answer_malformed_requests_with_problems(app: web.Application) -> None:
    """Serve ``app`` with connections that answer unreadable requests with problem details."""
    make_handler = app._make_handler

    def make_problem_handler(**kwargs: Any) -> web_server.Server:
        server = make_handler(**kwargs)
        # Same state, same behaviour, one method different: see the module docstring.
        server.__class__ = _ProblemServer
        return server

    # object.__setattr__: Application warns about custom attributes in debug mode.
    object.__setattr__(app, "_make_handler", make_problem_handler)


async def allowed_methods(request: web.Request, advertised: str) -> str:
    """The ``Allow`` of a 405: the methods of the most specific route path the request
    matches (fewest ``{…}`` parts). aiohttp lists every route the path matches, so
    ``/v1/invitations/verification`` (POST) would also advertise ``GET
    /v1/invitations/{invitation_id}`` there, a method the API document rightly does not list
    for that path."""
    best: tuple[int, int] | None = None
    methods: set[str] = set()
    for resource in request.app.router.resources():
        _, allowed = await resource.resolve(request)
        if not allowed:
            continue
        canonical = resource.canonical
        rank = (canonical.count("{"), -len(canonical))
        if best is None or rank < best:
            best, methods = rank, set(allowed)
        elif rank == best:  # the same path registered again (another route table)
            methods |= set(allowed)
    methods.discard("*")
    return ",".join(sorted(methods)) or advertised
