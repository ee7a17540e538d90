"""The OpenAPI 3.1 document built from a service's route table, and the offline ``/docs`` page.

``/docs`` serves Swagger UI 5 from the ``swagger-ui-py`` package's files (no CDN, no
internet): Swagger UI 4 can not read OpenAPI 3.1 and showed "Unable to render this
definition". A route that takes a file declares it with ``Upload``; the document then
describes a ``multipart/form-data`` body (and, with ``raw_body``, the file sent as the body
itself) so generated clients send it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

if TYPE_CHECKING:  # shared.http imports this module: the route type is for annotations only
    from shared.http import Route

PROBLEM_JSON = "application/problem+json"
# Swagger UI 5.x (swagger-ui-py ships the dist files, the version pinned in pyproject.toml).
DOCS_STATIC = Path(str(files("swagger_ui") / "static"))


@dataclass(frozen=True)
class Upload:
    """A route's file upload: the form ``field`` of a ``multipart/form-data`` body, of one of
    ``media_types``, at most ``max_bytes`` (the default; ``setting`` names the environment
    variable that changes it). ``raw_body``: the file may also be sent as the whole body with
    its own media type as Content-Type. Reading and checking the file is the handler's job;
    this declaration is what the OpenAPI document tells clients."""

    field: str
    media_types: tuple[str, ...]
    max_bytes: int
    setting: str | None = None
    raw_body: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not self.field or not self.media_types or self.max_bytes <= 0:
            raise ValueError("an upload needs a field name, media types and a positive size")

    def limit_text(self) -> str:
        size = (f"{self.max_bytes // (1024 * 1024)} MB" if self.max_bytes % (1024 * 1024) == 0
                else f"{self.max_bytes} bytes")
        configured = f" by default (setting `{self.setting}`)" if self.setting else ""
        return f"at most {size}{configured}"

    def request_body(self) -> dict[str, Any]:
        kinds = ", ".join(self.media_types)
        about = " ".join(p for p in (self.description, f"One file ({kinds}),",
                                     f"{self.limit_text()}.") if p)
        # OpenAPI 3.1: a binary part is a string with contentMediaType (format: binary is
        # 3.0's spelling); the Encoding Object's contentType lists every accepted type.
        part = {"type": "string", "contentMediaType": (self.media_types[0]
                if len(self.media_types) == 1 else "application/octet-stream"),
                "description": about, "x-max-bytes": self.max_bytes}
        content: dict[str, Any] = {"multipart/form-data": {
            "schema": {"type": "object", "required": [self.field],
                       "properties": {self.field: part}},
            "encoding": {self.field: {"contentType": kinds}}}}
        if self.raw_body:
            for media_type in self.media_types:
                content[media_type] = {"schema": {
                    "type": "string", "contentMediaType": media_type,
                    "description": f"The file itself as the body, {self.limit_text()}.",
                    "x-max-bytes": self.max_bytes}}
        return {"required": True, "description": about, "content": content}


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
        if r.upload is not None:
            op["requestBody"] = r.upload.request_body()
            op["responses"]["413"] = {"description": "The file is too large: "
                                      f"{r.upload.limit_text()}", **problem}
            op["responses"]["415"] = {"description": "Not multipart/form-data with field "
                                      f"`{r.upload.field}`, or a file of another type",
                                      **problem}
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
            op["responses"].setdefault(str(status), {"description": "See problem type",
                                                     **problem})
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


_DOCS = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#ui", deepLinking: true}});</script>
</body></html>"""


def docs_page(title: str) -> str:
    """The ``/docs`` page: Swagger UI 5 from ``/docs/static`` reading ``/openapi.json``."""
    return _DOCS.format(title=html.escape(title))
