"""Examples for request bodies and responses, composed from the examples of their fields.

A service describes each field once (``Field(description=..., examples=[...])``); the
document's example of a whole body is put together from them, so it never drifts from the
model. A value the schema itself fixes (``const``, ``enum``, ``default``, a boolean, a
well-known ``format``) needs no example; a required field with nothing to go by leaves the
whole example out, and ``compose`` names it (the completeness test lists those).
"""

from __future__ import annotations

from typing import Any

MISSING = object()
# Values for formats that say enough about a string on their own.
FORMAT_EXAMPLES = {
    "email": "anna.muster@example.com",
    "date-time": "2026-03-01T09:30:00Z",
    "date": "2026-03-01",
    "time": "09:30:00",
    "uuid": "3f0c1c9e-5b1a-4b6e-9d2f-0a7c2b1e4d55",
    "uri": "https://portal.example.com/",
    "uri-reference": "/v1/things",
    "ipv4": "192.0.2.10",
    "duration": "P3D",
}
_MAX_DEPTH = 12


def compose(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[Any, list[str]]:
    """(an example for ``schema`` or ``MISSING``, the paths of fields that had none)."""
    missing: list[str] = []
    value = _example(schema, schemas, "", missing, 0)
    return value, missing


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    target = schemas.get(ref.rsplit("/", 1)[-1], {})
    # Sibling keywords of a $ref (a field's description, examples) win over the target's.
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _example(schema: Any, schemas: dict[str, Any], path: str, missing: list[str],
             depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return MISSING
    for key in ("examples", "example"):
        if key in schema and not (key == "examples" and not schema[key]):
            return schema[key][0] if key == "examples" else schema[key]
    if "const" in schema:
        return schema["const"]
    if "$ref" in schema:
        return _example(_resolve(schema, schemas), schemas, path, missing, depth + 1)
    if schema.get("default") is not None:
        return schema["default"]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), None)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        # The first alternative that is not null (a nullable field shows its real shape).
        found: Any = MISSING
        for option in options:
            if option.get("type") == "null":
                continue
            found = _example(option, schemas, path, missing, depth + 1)
            if found is not MISSING:
                return found
        return None if any(o.get("type") == "null" for o in options) else MISSING
    if len(schema.get("allOf", ())) == 1:
        return _example(schema["allOf"][0], schemas, path, missing, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return _object(schema, schemas, path, missing, depth)
    if kind == "array":
        item = _example(schema.get("items", {}), schemas, f"{path}[]", missing, depth + 1)
        if item is MISSING:
            if schema.get("minItems", 0) > 0:
                return MISSING
            return []
        return [item]
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string" and schema.get("format") in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[schema["format"]]
    if kind in ("integer", "number"):
        for bound in ("minimum", "exclusiveMinimum"):
            if bound in schema:
                return schema[bound] + (1 if bound == "exclusiveMinimum" else 0)
    missing.append(path or "(body)")
    return MISSING


def _object(schema: dict[str, Any], schemas: dict[str, Any], path: str, missing: list[str],
            depth: int) -> Any:
    out: dict[str, Any] = {}
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        if name in required:
            value = _example(prop, schemas, where, missing, depth + 1)
            if value is MISSING:
                return MISSING
        else:
            # An optional field shows only what it was given or what its schema fixes; a
            # field without either is left out rather than guessed.
            scratch: list[str] = []
            value = _example(prop, schemas, where, scratch, depth + 1)
            if value is MISSING:
                missing.extend(scratch)
                continue
            if value is None:
                continue
        out[name] = value
    return out
