"""The HTTP side of every service: one way to declare a route, errors as RFC 9457 problem
details, correlation ids, health, metrics, and the OpenAPI document with an offline docs page.

A route is declared once with its request and response models; the same declaration
validates the request, checks access, and describes the route in ``/openapi.json``::

    routes = Routes()

    @routes.post("/v1/things", body=NewThing, response=Thing, status=201,
                 access=Access.of(roles=(COMPANY_ADMIN,)))
    async def create_thing(request, body: NewThing, principal: Principal) -> Thing: ...

A route that takes a file declares ``upload=Upload("file", (CSV,), max_bytes=…)`` instead of
``body`` and reads the file itself; the declaration describes it in the OpenAPI document.

By job: ``routes`` (declaring routes, parsing requests), ``problems`` (errors as problem
details, one status per error category; JSON answers), ``middlewares`` (correlation ids,
metrics, problems), ``health`` (``/health/*``, ``/metrics``), ``docs`` (``/openapi.json``,
``/docs``), ``clients`` (the caller's address for rate limits). Import from ``shared.http``.
"""

from __future__ import annotations

from aiohttp import web

from shared.app_keys import METRICS, OPENAPI_INFO, READINESS, ROUTES, VERIFIER
from shared.auth import TokenVerifier
from shared.http.clients import client_address, client_network
from shared.http.docs import add_docs_routes
from shared.http.health import ReadinessCheck, add_health_routes, add_readiness_check
from shared.http.middlewares import (
    CORRELATION_HEADER,
    correlation_middleware,
    metrics_middleware,
    problem_middleware,
)
from shared.http.problems import (
    STATUS_BY_CATEGORY,
    json_response,
    problem_body,
    problem_response,
    status_of,
)
from shared.http.routes import (
    Route,
    Routes,
    add_routes,
    authenticate,
    company_of,
    parse_body,
)
from shared.metrics import Metrics
from shared.openapi import PROBLEM_SCHEMA, Upload, openapi_document
from shared.protocol import answer_malformed_requests_with_problems

__all__ = [
    "CORRELATION_HEADER",
    "PROBLEM_SCHEMA",
    "STATUS_BY_CATEGORY",
    "ReadinessCheck",
    "Route",
    "Routes",
    "Upload",
    "add_readiness_check",
    "add_routes",
    "authenticate",
    "client_address",
    "client_network",
    "company_of",
    "json_response",
    "new_app",
    "openapi_document",
    "parse_body",
    "problem_body",
    "problem_response",
    "status_of",
]


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
    add_health_routes(app)
    add_docs_routes(app)
    return app
