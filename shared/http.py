"""The HTTP side of every service: one way to declare a route, errors as RFC 9457 problem
details, correlation ids, health, metrics, and the OpenAPI document with an offline docs page
(``shared.openapi``).

A route is declared once with its request and response models; the same declaration
validates the request, checks access, and describes the route in ``/openapi.json``::

    routes = Routes()

    @routes.post("/v1/things", body=NewThing, response=Thing, status=201,
                 access=Access.of(roles=(COMPANY_ADMIN,)))
    async def create_thing(request, body: NewThing, principal: Principal) -> Thing: ...

A route that takes a file declares ``upload=Upload("file", (CSV,), max_bytes=…)`` instead of
``body`` and reads the file itself; the declaration describes it in the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from pymongo.errors import ConnectionFailure as PyMongoConnectionFailure

from shared.app_keys import METRICS, OPENAPI_INFO, READINESS, ROUTES, VERIFIER
from shared.auth import Access, Principal, TokenVerifier, bearer_token
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
    UnsupportedMediaType,
    Unprocessable,
    database_unavailable,
)
from shared.logging import correlation_id, get_logger, new_correlation_id
from shared.metrics import Metrics
from shared.openapi import (  # noqa: F401  (PROBLEM_SCHEMA, openapi_document: the kit's API)
    DOCS_STATIC,
    PROBLEM_JSON,
    PROBLEM_SCHEMA,
    Upload,
    docs_page,
    openapi_document,
)
from shared.openapi_parts import token_url
from shared.parsing import check_path, idempotency_key, parse_json, parse_query
from shared.protocol import allowed_methods, answer_malformed_requests_with_problems

log = get_logger("http")
CORRELATION_HEADER = "X-Correlation-ID"
_CID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# A readiness check that has not answered by then counts as failing (probes have timeouts too).
READINESS_TIMEOUT = 3.0

ReadinessCheck = Callable[[], Awaitable[bool] | bool]


def _json_text(data: Any) -> str:
    # Models, datetimes and the like nested anywhere become JSON the way pydantic writes them.
    return json.dumps(to_jsonable_python(data, by_alias=True, fallback=str))


# The one status of each error category (shared.errors): a problem answers with the status
# of the first category in its class's MRO, so a problem type has one status everywhere.
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
        headers = {**(headers or {}), "Retry-After": str(max(1, int(problem.extra["retry_after"])))}
    return web.Response(status=status, text=_json_text(body),
                        content_type=PROBLEM_JSON, headers=headers)


# aiohttp's own refusals with a category of their own; any other status is an "http-error".
_HTTP_CATEGORIES: dict[int, type[Problem]] = {
    400: BadRequest, 404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge,
    415: UnsupportedMediaType}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    """``data`` (a model, or JSON-like data holding models) as an application/json response."""
    if isinstance(data, BaseModel):
        text = data.model_dump_json(by_alias=True)
    else:
        text = _json_text(data)
    return web.Response(status=status, text=text, content_type="application/json",
                        headers=headers)


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[..., Awaitable[Any]]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    access: Access | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()
    problems: tuple[int, ...] = ()
    upload: Upload | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # What the OpenAPI document tells clients beyond the models (shared.openapi): the
    # operation's description (the handler docstring when empty), a model whose fields type
    # and describe the path parameters, whether the route honours ``Idempotency-Key`` (and
    # may answer a stored response with ``Idempotent-Replayed: true``), and whether its
    # 201/202 answer names the created resource in ``Location``.
    description: str = ""
    path_params: type[BaseModel] | None = None
    idempotent: bool = False
    location: bool = False

    def __post_init__(self) -> None:
        if self.body is not None and self.upload is not None:
            raise ValueError(f"{self.method} {self.path}: a JSON body or an upload, not both")


class Routes:
    """A service's route table: the one way to declare an HTTP endpoint."""

    def __init__(self) -> None:
        self.entries: list[Route] = []

    def route(self, method: str, path: str, **kw: Any) -> Callable:
        def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            # An empty summary or description is taken from the docstring by the document.
            self.entries.append(Route(method, path, fn, **kw))
            return fn
        return register

    def get(self, path: str, **kw: Any) -> Callable:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable:
        return self.route("DELETE", path, **kw)

    def install(self, app: web.Application) -> None:
        for r in self.entries:
            app.router.add_route(r.method, r.path, _endpoint(r))


def client_address(request: web.Request, trusted_proxy_hops: int = 0) -> str:
    """The caller's IP address for rate limits: the peer, or with ``trusted_proxy_hops`` > 0
    (the service runs behind that many proxies of ours) the address the outermost trusted
    proxy saw in ``X-Forwarded-For``; entries a client wrote itself further left are ignored."""
    address = request.remote or "unknown"
    if trusted_proxy_hops > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                if h.strip()]
        if len(hops) >= trusted_proxy_hops:
            address = hops[-trusted_proxy_hops][:64]
    return client_network(address)


def client_network(address: str) -> str:
    """What one client controls: an IPv4 address, or the /64 of an IPv6 one (a single host is
    handed a whole /64, so counting full IPv6 addresses would give it 2**64 allowances)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


async def authenticate(request: web.Request, access: Access) -> Principal:
    principal = await request.app[VERIFIER].verify(
        bearer_token(request.headers.get("Authorization")))
    access.check(principal)
    return principal


def _endpoint(r: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if r.access is not None:
            kwargs["principal"] = await authenticate(request, r.access)
        if r.path_params is not None:
            check_path(request.match_info, r.path_params)
        if r.idempotent:  # the key the document describes, or 400 before the handler runs
            idempotency_key(request.headers)
        if r.upload is not None:
            r.upload.check_envelope(request.content_type, request.headers)
        if r.query is not None:
            kwargs["query"] = parse_query(request.query, r.query)
        if r.body is not None:
            kwargs["body"] = await parse_body(request, r.body)
        result = await r.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        if r.response is not None and isinstance(result, dict):
            # The declared model decides what leaves: a stored document's other fields stay in.
            result = r.response.model_validate(result)
        return json_response(result, status=r.status)

    endpoint.__name__ = r.handler.__name__
    return endpoint


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as ``model``, parsed strictly (``shared.parsing``): 415, 413,
    400 (malformed) or 422 otherwise."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    return parse_json(await request.read(), model)


@web.middleware
async def correlation_middleware(request: web.Request, handler):
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
async def problem_middleware(request: web.Request, handler):
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
        if "Allow" in e.headers:
            e.headers["Allow"] = await allowed_methods(request, e.headers["Allow"])
        return problem_response(_http_problem(request, e), request,
                                {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None,
                                status=e.status)
    except PyMongoConnectionFailure:  # a failover or restart: the client may retry shortly
        log.warning("database unavailable", route=_route_name(request))
        return problem_response(database_unavailable(), request)
    except Exception:
        log.exception("unhandled error", route=_route_name(request))
        return problem_response(InternalError("Something went wrong on our side."), request)


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


def _route_name(request: web.Request) -> str:
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@web.middleware
async def metrics_middleware(request: web.Request, handler):
    start = time.perf_counter()

    def observe(status: int) -> None:
        metrics = request.app[METRICS]
        # The route template, never the concrete path: one series per route, not per id;
        # and any method a client makes up counts as "other".
        route = _route_name(request)
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


def new_app(*, metrics: Metrics, verifier: TokenVerifier, max_body_bytes: int,
            title: str, version: str = "1.0.0", description: str = "") -> web.Application:
    """An application with the kit's middlewares and operational endpoints."""
    app = web.Application(
        client_max_size=max_body_bytes,
        middlewares=[correlation_middleware, metrics_middleware, problem_middleware],
    )
    answer_malformed_requests_with_problems(app)
    app[METRICS] = metrics
    app[VERIFIER] = verifier
    app[READINESS] = {}
    app[OPENAPI_INFO] = {"title": title, "version": version, "description": description}
    app[ROUTES] = []
    app.router.add_get("/health/live", _live)
    app.router.add_get("/health/ready", _ready)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/docs", _docs)
    app.router.add_static("/docs/static", DOCS_STATIC)
    return app


def add_routes(app: web.Application, routes: Routes) -> None:
    """Serve ``routes`` and describe them in ``/openapi.json``."""
    routes.install(app)
    app[ROUTES].extend(routes.entries)


def add_readiness_check(app: web.Application, name: str, check: ReadinessCheck) -> None:
    """``/health/ready`` answers 503, naming ``name``, while ``check`` returns False."""
    app[READINESS][name] = check


async def _live(_request: web.Request) -> web.Response:
    return json_response({"status": "live"})


async def _ready(request: web.Request) -> web.Response:
    checks = {}
    for name, check in list(request.app[READINESS].items()):
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, READINESS_TIMEOUT)
            checks[name] = "ok" if result else "failing"
        except Exception:  # includes the timeout: a check that hangs is not ready
            checks[name] = "failing"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "not ready" if failing else "ready", "checks": checks}
    if failing:
        body["failing"] = failing
    return json_response(body, status=503 if failing else 200)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app[OPENAPI_INFO], request.app[ROUTES],
                                           token_url=token_url(request.app[VERIFIER].jwks_url)))


async def _docs(request: web.Request) -> web.Response:
    return web.Response(text=docs_page(request.app[OPENAPI_INFO]["title"]),
                        content_type="text/html")
