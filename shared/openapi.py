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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, JsonSchemaValue, models_json_schema

from shared.errors import UnsupportedMediaType
from shared.openapi_examples import MISSING, compose
from shared.openapi_parts import (
    CORRELATION,
    CORRELATION_PARAMETER,
    IDEMPOTENCY_PARAMETER,
    access_text,
    header,
    operation_texts,
    problem_response,
    security,
    security_schemes,
)

if TYPE_CHECKING:  # shared.http imports this module: the route type is for annotations only
    from shared.http.routes import Route

# Swagger UI 5.x (swagger-ui-py ships the dist files, the version pinned in pyproject.toml).
DOCS_STATIC = Path(str(files("swagger_ui") / "static"))


_BOUNDARY = re.compile(r";\s*boundary\s*=\s*\S", re.IGNORECASE)


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

    def check_envelope(self, content_type: str, headers: Any) -> None:
        """A ``multipart/form-data`` body without its boundary can not be read at all: 415
        before the handler opens it (aiohttp's reader raised a ValueError, a 500)."""
        if content_type == "multipart/form-data" and not _BOUNDARY.search(
                headers.get("Content-Type", "")):
            raise UnsupportedMediaType("A multipart/form-data body needs its boundary "
                                       "parameter in Content-Type.")

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
    "description": "RFC 9457 problem details: `type` names the rule that was broken, "
                   "`errors` the fields; further members (e.g. `retry_after`, "
                   "`required_roles`) depend on the problem type.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference",
                 "description": "The problem type, stable for a client to branch on.",
                 "examples": ["/problems/validation-error"]},
        "title": {"type": "string", "description": "The problem type in words.",
                  "examples": ["The request is not valid"]},
        "status": {"type": "integer", "description": "The HTTP status of this answer.",
                   "examples": [422]},
        "detail": {"type": "string", "description": "What went wrong with this request.",
                   "examples": ["email: value_error"]},
        "instance": {"type": "string", "description": "The path the request was sent to.",
                     "examples": ["/v1/users"]},
        "correlation_id": {"type": "string",
                           "description": "The request's `X-Correlation-ID`.",
                           "examples": ["portal-7f3a9c2e"]},
        "retry_after": {"type": "integer", "description": "Seconds to wait (as the "
                        "`Retry-After` header) for 429 and 503 answers.", "examples": [30]},
        "errors": {"type": "array", "description": "One entry per field and broken rule "
                   "(422).", "items": {
                       "type": "object", "required": ["field", "rule"],
                       "description": "A field that breaks a rule.",
                       "properties": {
                           "field": {"type": "string", "description": "The field's path, "
                                     "dotted (`items.0.email`).", "examples": ["email"]},
                           "rule": {"type": "string", "description": "The rule, stable for "
                                    "a client to branch on.", "examples": ["value_error"]},
                           "message": {"type": "string", "description": "The rule in "
                                       "words.", "examples": ["value is not a valid email "
                                                              "address"]}}}},
    },
}

# Answered by the kit for every operation: the database (every route reads or writes it)
# can be unreachable, and then the answer is 503 with Retry-After (shared.http).
KIT_PROBLEMS = (503,)
# A model schema by reference, and the references of every model by mode.
Resolve = Callable[[dict[str, Any]], dict[str, Any]]
Refs = Mapping[tuple[Any, JsonSchemaMode], JsonSchemaValue]


def openapi_document(info: dict[str, Any], routes: list[Route],
                     token_url: str = "/v1/oauth/token") -> dict[str, Any]:
    """OpenAPI 3.1 built from the route table: models, texts, headers, problems, examples
    and security (``shared.openapi_parts``, ``shared.openapi_examples``)."""
    # One generation for every model in every mode, so two models of the same name, a
    # recursive model, or an enum inside a query model each get a schema that resolves.
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for r in routes:
        modes: tuple[tuple[type[BaseModel] | None, JsonSchemaMode], ...] = (
            (r.body, "validation"), (r.query, "validation"), (r.path_params, "validation"),
            (r.response, "serialization"))
        for model, mode in modes:
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    refs, defs = models_json_schema(wanted, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Problem": PROBLEM_SCHEMA}

    def resolve(ref: dict[str, Any]) -> dict[str, Any]:
        schema: dict[str, Any] = schemas[ref["$ref"].rsplit("/", 1)[-1]]
        return schema

    def with_example(media: dict[str, Any]) -> dict[str, Any]:
        value, _ = compose(media["schema"], schemas)
        if value is not MISSING:
            media["example"] = value
        return media

    paths: dict[str, Any] = {}
    scopes: set[str] = set()
    for r in routes:
        path = re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", r.path)
        summary, description, ids = operation_texts(r)
        op: dict[str, Any] = {"operationId": r.handler.__name__, "summary": summary,
                              "description": description, "tags": list(r.tags),
                              "responses": {}}
        if ids:
            op["x-requirements"] = ids
        problems: dict[int, str | None] = {s: None for s in (*r.problems, *KIT_PROBLEMS)}
        params = _path_parameters(r, path, resolve, refs)
        if params:
            problems.setdefault(404, None)
        if r.query is not None:
            qs = resolve(refs[(r.query, "validation")])
            for name, prop in qs.get("properties", {}).items():
                params.append({"name": name, "in": "query",
                               "required": name in qs.get("required", []),
                               "description": prop.get("description", ""), "schema": prop})
            problems.setdefault(422, None)
        params.append(dict(CORRELATION_PARAMETER))
        if r.idempotent:
            params.append(dict(IDEMPOTENCY_PARAMETER))
            problems.setdefault(400, "The request is malformed, or the `Idempotency-Key` is "
                                     "not 1-255 visible ASCII characters")
            problems.setdefault(409, "The `Idempotency-Key` was used for another request, "
                                     "or its first request is still running")
        op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "description": _model_text(
                resolve(refs[(r.body, "validation")])), "content": {
                "application/json": with_example({"schema": refs[(r.body, "validation")]})}}
            for status in (400, 413, 415, 422):
                problems.setdefault(status, None)
        if r.upload is not None:
            op["requestBody"] = r.upload.request_body()
            problems[413] = f"The file is too large: {r.upload.limit_text()}"
            problems[415] = (f"Not multipart/form-data with field `{r.upload.field}`, or a "
                             "file of another type")
        status = 204 if _answers_nothing(r) else r.status
        ok: dict[str, Any] = {"description": _success_text(r, status, resolve, refs),
                              "headers": {CORRELATION: header(CORRELATION, required=True)}}
        if r.location and status in (201, 202):
            ok["headers"]["Location"] = header("Location", required=True)
        if r.idempotent:
            ok["headers"]["Idempotent-Replayed"] = header("Idempotent-Replayed", required=False)
        if r.response is not None:
            ok["content"] = {"application/json": with_example(
                {"schema": refs[(r.response, "serialization")]})}
        op["responses"][str(status)] = ok
        if r.access is not None:
            reqs, extensions = security(r.access)
            op["security"] = reqs
            op.update(extensions)
            scopes |= r.access.scopes
            op["description"] = f"{op['description']}\n\n{access_text(r.access)}".strip()
            problems.setdefault(401, None)
            problems.setdefault(403, None)
        else:
            op["security"] = []  # no token needed: said explicitly, not left to a default
        for code in sorted(problems):
            op["responses"][str(code)] = problem_response(code, path, problems[code])
        paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": security_schemes(sorted(scopes), token_url)},
    }


def _path_parameters(r: Route, path: str, resolve: Resolve, refs: Refs) -> list[dict[str, Any]]:
    """Each ``{name}`` of the path, typed and described by the route's ``path_params``
    model when it has one (a string otherwise)."""
    declared: dict[str, Any] = {}
    if r.path_params is not None:
        declared = resolve(refs[(r.path_params, "validation")]).get("properties", {})
    params = []
    for name in re.findall(r"{(\w+)}", path):
        schema = dict(declared.get(name) or {"type": "string", "minLength": 1})
        text = schema.get("description") or (
            f"The {name.removesuffix('_id').replace('_', ' ')}'s id, as the listing or "
            "creating answer gave it." if name.endswith("_id")
            else f"The {name.replace('_', ' ')}.")
        schema.setdefault("description", text)
        params.append({"name": name, "in": "path", "required": True, "description": text,
                       "schema": schema})
    return params


def _model_text(schema: dict[str, Any]) -> str:
    return str(schema.get("description") or schema.get("title", ""))


def _success_text(r: Route, status: int, resolve: Resolve, refs: Refs) -> str:
    if r.response is not None:
        text = _model_text(resolve(refs[(r.response, "serialization")]))
        if text:
            return text
    return {201: "Created", 202: "Accepted: the work goes on after the answer",
            204: "Done; no content"}.get(status, "Success")


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
