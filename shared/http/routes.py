"""Declaring routes: one declaration validates the request, checks access, and describes the
route in the OpenAPI document (``shared.openapi``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shared.app_keys import ROUTES, VERIFIER
from shared.auth import Access, Principal, bearer_token
from shared.errors import Forbidden, UnsupportedMediaType
from shared.http.problems import json_response
from shared.openapi import Upload
from shared.parsing import check_path, idempotency_key, parse_json, parse_query

Handler = Callable[..., Awaitable[Any]]


@dataclass
class Route:
    """One endpoint as declared: what it takes, answers and requires."""

    method: str
    path: str
    handler: Handler
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

    def route(self, method: str, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            # An empty summary or description is taken from the docstring by the document.
            self.entries.append(Route(method, path, fn, **kw))
            return fn
        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def install(self, app: web.Application) -> None:
        for r in self.entries:
            app.router.add_route(r.method, r.path, _endpoint(r))


def add_routes(app: web.Application, routes: Routes) -> None:
    """Serve ``routes`` and describe them in ``/openapi.json``."""
    routes.install(app)
    app[ROUTES].extend(routes.entries)


async def authenticate(request: web.Request, access: Access) -> Principal:
    """The caller of ``request`` (its bearer token verified), if ``access`` lets it in."""
    principal = await request.app[VERIFIER].verify(
        bearer_token(request.headers.get("Authorization")))
    access.check(principal)
    return principal


def company_of(principal: Principal) -> str:
    """The caller's company, for a route whose ``Access`` admits only a company's users (a
    token of no company is refused rather than read as every company)."""
    if not principal.company_id:
        raise Forbidden("The token belongs to no company.")
    return principal.company_id


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as ``model``, parsed strictly (``shared.parsing``): 415, 413,
    400 (malformed) or 422 otherwise."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    return parse_json(await request.read(), model)


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
