"""Serving the API's description: ``/openapi.json`` (built by ``shared.openapi`` from the
declared routes) and the offline docs page at ``/docs``."""

from __future__ import annotations

from aiohttp import web

from shared.app_keys import OPENAPI_INFO, ROUTES, VERIFIER
from shared.http.problems import json_response
from shared.openapi import DOCS_STATIC, docs_page, openapi_document
from shared.openapi_parts import token_url


def add_docs_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/docs", _docs)
    app.router.add_static("/docs/static", DOCS_STATIC)


async def _openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app[OPENAPI_INFO], request.app[ROUTES],
                                           token_url=token_url(request.app[VERIFIER].jwks_url)))


async def _docs(request: web.Request) -> web.Response:
    return web.Response(text=docs_page(request.app[OPENAPI_INFO]["title"]),
                        content_type="text/html")
