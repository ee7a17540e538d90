"""The HTTP side of every service: one way to declare a route, errors as RFC 9457 problem
details, correlation ids, health, metrics, and the OpenAPI document with an offline docs page.

A route is declared once with its request and response models; the same declaration
validates the request, checks access, and describes the route in ``/openapi.json``::

    routes = Routes()

    @routes.post("/v1/things", body=NewThing, response=Thing, status=201,
                 access=Access.of(roles=(COMPANY_ADMIN,)))
    async def create_thing(request, body: NewThing, principal: Principal) -> Thing: ...
"""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import swagger_ui_bundle
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from pydantic_core import to_jsonable_python

from shared.auth import Access, Principal, TokenVerifier, bearer_token
from shared.errors import Problem
from shared.logging import correlation_id, get_logger, new_correlation_id
from shared.metrics import Metrics
from shared.parsing import parse_json, parse_query
from shared.protocol import answer_malformed_requests_with_problems

log = get_logger("http")
PROBLEM_JSON = "application/problem+json"
CORRELATION_HEADER = "X-Correlation-ID"
_CID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# A readiness check that has not answered by then counts as failing (probes have timeouts too).
READINESS_TIMEOUT = 3.0

# Every application key of the kit; a service keeps its own in its app.py.
SETTINGS = web.AppKey("settings", object)
METRICS = web.AppKey("metrics", Metrics)
VERIFIER = web.AppKey("verifier", TokenVerifier)
ROUTES = web.AppKey("routes", object)
READINESS = web.AppKey("readiness", dict)
OPENAPI_INFO = web.AppKey("openapi_info", dict)

ReadinessCheck = Callable[[], Awaitable[bool] | bool]


def _json_text(data: Any) -> str:
    # Models, datetimes and the like nested anywhere become JSON the way pydantic writes them.
    return json.dumps(to_jsonable_python(data, by_alias=True, fallback=str))


def problem_response(problem: Problem, request: web.Request | None = None,
                     headers: dict[str, str] | None = None) -> web.Response:
    """``problem`` as an RFC 9457 ``application/problem+json`` response."""
    body = problem.to_dict(instance=request.path if request is not None else None)
    cid = correlation_id.get()
    if cid:
        body.setdefault("correlation_id", cid)
    if problem.extra.get("retry_after"):
        headers = {**(headers or {}), "Retry-After": str(max(1, int(problem.extra["retry_after"])))}
    return web.Response(status=problem.status, text=_json_text(body),
                        content_type=PROBLEM_JSON, headers=headers)


_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
               415: "unsupported-media-type", 400: "bad-request"}


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
    extra: dict[str, Any] = field(default_factory=dict)


class Routes:
    """A service's route table: the one way to declare an HTTP endpoint."""

    def __init__(self) -> None:
        self.entries: list[Route] = []

    def route(self, method: str, path: str, **kw: Any) -> Callable:
        def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            summary = kw.pop("summary", None) or (fn.__doc__ or "").strip().split("\n")[0]
            self.entries.append(Route(method, path, fn, summary=summary, **kw))
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
    if trusted_proxy_hops > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                if h.strip()]
        if len(hops) >= trusted_proxy_hops:
            return hops[-trusted_proxy_hops][:64]
    return request.remote or "unknown"


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
        raise Problem("Send the body as application/json.", status=415,
                      slug="unsupported-media-type", title="Unsupported media type")
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
        if p.status == 401:
            # RFC 6750: a token that was sent but refused is "invalid_token".
            sent = "Authorization" in request.headers
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if sent else "Bearer"}
        return problem_response(p, request, headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return problem_response(_http_problem(request, e), request,
                                {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None)
    except Exception:
        log.exception("unhandled error", route=_route_name(request))
        return problem_response(Problem("Something went wrong on our side.", status=500,
                                        slug="internal-error", title="Internal error"), request)


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
    return Problem(detail, status=e.status, slug=_HTTP_SLUGS.get(e.status, "http-error"),
                   title=title)


def _route_name(request: web.Request) -> str:
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler):
    start = time.perf_counter()

    def observe(status: int) -> None:
        metrics = request.app[METRICS]
        # The route template, never the concrete path: one series per route, not per id.
        route = _route_name(request)
        metrics.http_requests.labels(request.method, route, str(status)).inc()
        metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - start)

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
    app.router.add_static("/docs/static", swagger_ui_bundle.swagger_ui_path)
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
    return json_response(openapi_document(request.app[OPENAPI_INFO], request.app[ROUTES]))


_DOCS = """<!doctype html><html><head><meta charset="utf-8"><title>{title} API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#ui"}});</script></body></html>"""


async def _docs(request: web.Request) -> web.Response:
    return web.Response(text=_DOCS.format(title=html.escape(request.app[OPENAPI_INFO]["title"])),
                        content_type="text/html")


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "rule"],
            "properties": {"field": {"type": "string"}, "rule": {"type": "string"},
                           "message": {"type": "string"}}}},
    },
}


def openapi_document(info: dict[str, Any], routes: list[Route]) -> dict[str, Any]:
    """OpenAPI 3.1 built from the route table's pydantic models."""
    # One generation for every model in every mode, so two models of the same name, a
    # recursive model, or an enum inside a query model each get a schema that resolves.
    wanted: list[tuple[type[BaseModel], str]] = []
    for r in routes:
        for model, mode in ((r.body, "validation"), (r.query, "validation"),
                            (r.response, "serialization")):
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    refs, defs = models_json_schema(wanted, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Problem": PROBLEM_SCHEMA}

    def resolve(ref: dict[str, Any]) -> dict[str, Any]:
        return schemas[ref["$ref"].rsplit("/", 1)[-1]]

    problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    paths: dict[str, Any] = {}
    for r in routes:
        op: dict[str, Any] = {"operationId": r.handler.__name__, "summary": r.summary,
                              "tags": list(r.tags), "responses": {}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)", r.path)]
        if r.query is not None:
            qs = resolve(refs[(r.query, "validation")])
            for name, prop in qs.get("properties", {}).items():
                params.append({"name": name, "in": "query",
                               "required": name in qs.get("required", []), "schema": prop})
            op["responses"]["422"] = {"description": "Invalid fields", **problem}
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(r.body, "validation")]}}}
            op["responses"]["400"] = {"description": "Body is not valid JSON", **problem}
            op["responses"]["413"] = {"description": "Body too large", **problem}
            op["responses"]["415"] = {"description": "Body is not JSON", **problem}
            op["responses"]["422"] = {"description": "Invalid fields", **problem}
        ok: dict[str, Any] = {"description": "Success"}
        if r.response is not None:
            ok["content"] = {"application/json": {
                "schema": refs[(r.response, "serialization")]}}
        op["responses"][str(204 if _answers_nothing(r) else r.status)] = ok
        if r.access is not None:
            op["security"] = [{"bearer": []}]
            op["responses"]["401"] = {"description": "No or invalid access token", **problem}
            op["responses"]["403"] = {"description": "Not allowed for this caller", **problem}
        for status in r.problems:
            op["responses"][str(status)] = {"description": "See problem type", **problem}
        paths.setdefault(re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", r.path), {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "bearerFormat": "JWT"}}},
    }


def _answers_nothing(r: Route) -> bool:
    """A handler declared ``-> None`` answers 204 (the endpoint turns None into 204)."""
    if r.response is not None:
        return False
    returns = getattr(r.handler, "__annotations__", {}).get("return", "?")
    return returns is None or returns == "None"
