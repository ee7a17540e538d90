"""The middlewares every service runs, outermost first: correlation ids, request metrics,
and problems (every error leaves as RFC 9457 problem details)."""

from __future__ import annotations

import re
import time
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler
from pymongo.errors import ConnectionFailure as PyMongoConnectionFailure

from shared.app_keys import METRICS
from shared.errors import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
    database_unavailable,
)
from shared.http.problems import problem_response, status_of
from shared.logging import correlation_id, get_logger, new_correlation_id
from shared.protocol import allowed_methods

log = get_logger("http")
CORRELATION_HEADER = "X-Correlation-ID"
_CID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# aiohttp's own refusals with a category of their own; any other status is an "http-error".
_HTTP_CATEGORIES: dict[int, type[Problem]] = {
    400: BadRequest, 404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge,
    415: UnsupportedMediaType}


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer carries the request's ``X-Correlation-ID`` (a well-formed one sent, or a
    new one), and every log line written meanwhile names it."""
    incoming = request.headers.get(CORRELATION_HEADER, "")
    cid = incoming if _CID.fullmatch(incoming) else new_correlation_id()
    token = correlation_id.set(cid)
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects and the like, raised past the problem layer
        e.headers[CORRELATION_HEADER] = cid
        raise
    finally:
        correlation_id.reset(token)
    response.headers[CORRELATION_HEADER] = cid
    return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as problems: the kit's and the services' (``shared.errors``), aiohttp's own
    refusals, a database that can not be reached (503), anything else (500, logged)."""
    try:
        return await handler(request)
    except Problem as p:
        headers = None
        if status_of(p) == 401:
            # RFC 6750: a token that was sent but refused is "invalid_token".
            sent = "Authorization" in request.headers
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if sent else "Bearer"}
        return problem_response(p, request, headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        allow = e.headers.get("Allow")
        if allow is not None:
            allow = await allowed_methods(request, allow)
            e.headers["Allow"] = allow
        return problem_response(_http_problem(request, e), request,
                                {"Allow": allow} if allow is not None else None,
                                status=e.status)
    except PyMongoConnectionFailure:  # a failover or restart: the client may retry shortly
        log.warning("database unavailable", route=route_name(request))
        return problem_response(database_unavailable(), request)
    except Exception:
        log.exception("unhandled error", route=route_name(request))
        return problem_response(InternalError("Something went wrong on our side."), request)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Requests counted and timed by method, route template and status."""
    start = time.perf_counter()

    def observe(status: int) -> None:
        metrics = request.app[METRICS]
        # The route template, never the concrete path: one series per route, not per id;
        # and any method a client makes up counts as "other".
        route = route_name(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.http_requests.labels(method, route, str(status)).inc()
        metrics.http_latency.labels(method, route).observe(time.perf_counter() - start)

    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects raised past the problem layer
        observe(e.status)
        raise
    observe(response.status)
    return response


def route_name(request: web.Request) -> str:
    """The template of the route ``request`` matched (``/v1/users/{user_id}``)."""
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


def _http_problem(request: web.Request, e: web.HTTPException) -> Problem:
    """aiohttp's own refusals (no route, wrong method, body too large) as problems."""
    try:
        title = HTTPStatus(e.status).phrase
    except ValueError:
        title = e.reason
    if e.status == 404:
        detail = "No such resource."
    elif e.status == 405:
        detail = (f"{request.method} is not allowed here; allowed: "
                  f"{e.headers.get('Allow', '') or 'none'}.")
    elif e.status == 413:
        detail = f"The body is larger than {request.client_max_size} bytes."
    else:
        detail = e.text if e.text and not e.text.startswith(f"{e.status}:") else title
    category = _HTTP_CATEGORIES.get(e.status)
    if category is None:
        return Problem(detail, slug="http-error", title=title)
    return category(detail, title=title)
