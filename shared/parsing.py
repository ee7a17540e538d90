"""Strict request parsing: what a client sends is read as exactly what it is, never coerced.

JSON bodies are validated by pydantic in strict mode straight from the raw bytes: ``"true"``
is not a boolean, ``0`` is not a boolean, a number is not a date-time, while ISO 8601 strings
still become datetimes and strings still become enums and UUIDs. Query strings are all text,
so each value is read by the rule of its field's type: integers from digit strings only,
booleans only from ``true``/``false``, date-times only from ISO 8601 strings.

``UniqueList[T]`` is a list that refuses duplicates (permissions, roles, scopes: sets).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from typing import Annotated, Any, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from shared.errors import BadRequest, InvalidIdempotencyKey, InvalidInput, NotFound

T = TypeVar("T")

# Longest integer a query or body may carry: far beyond any count or amount, far below
# Python's 4 300-digit parsing limit (whose ValueError would otherwise be a 500).
MAX_INT_DIGITS = 30

_INT = re.compile(rf"-?[0-9]{{1,{MAX_INT_DIGITS}}}")
_FLOAT = re.compile(rf"-?[0-9]{{1,{MAX_INT_DIGITS}}}(\.[0-9]{{1,30}})?")
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATETIME = re.compile(_DATE + r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                               r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?")
_DATE_ONLY = re.compile(_DATE)
# A JSON number with more digits than MAX_INT_DIGITS in its integer part.
_LONG_NUMBER = re.compile(rb"[0-9]{%d,}" % (MAX_INT_DIGITS + 1))


def _refuse_duplicates(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            raise PydanticCustomError("duplicate", "{item} appears more than once",
                                      {"item": getattr(item, "value", item)})
        seen.append(item)
    return items


class _UniqueItems:
    """Marks the list's JSON schema ``uniqueItems: true``."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        schema["uniqueItems"] = True
        return schema


# A list used as a set: a repeated item is a 422 naming it (rule "duplicate"), and the JSON
# schema says ``uniqueItems``.
UniqueList = Annotated[list[T], AfterValidator(_refuse_duplicates), _UniqueItems()]


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Pydantic errors as one entry per field path and rule, without the rejected value."""
    out = []
    for e in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(p) for p in e["loc"] if p != "__root__")
        out.append({"field": f"{prefix}{path}" if path else prefix.rstrip(".") or "(body)",
                    "rule": e["type"], "message": e["msg"]})
    return out


def _malformed(detail: str = "The body is not valid JSON.") -> BadRequest:
    return BadRequest(detail, slug="malformed-json", title="Malformed JSON")


def parse_json(raw: bytes, model: type[BaseModel]) -> BaseModel:
    """``raw`` (a JSON document) as ``model`` in strict mode: 400 if it is not JSON, 422 if
    it does not fit the model."""
    raw = raw or b"null"
    try:
        json.loads(raw)
    except json.JSONDecodeError as e:
        raise _malformed(f"The body is not valid JSON: {e.msg} at line {e.lineno} "
                         f"column {e.colno}.") from None
    except ValueError:
        # Python refuses to read an integer of more than 4 300 digits: an invalid number,
        # not a server error.
        raise InvalidInput([{"field": "(body)", "rule": "number_too_long",
                             "message": f"numbers have at most {MAX_INT_DIGITS} digits"}]
                           ) from None
    except (UnicodeDecodeError, RecursionError):
        raise _malformed() from None
    if _LONG_NUMBER.search(raw) and _has_long_number(json.loads(raw)):
        raise InvalidInput([{"field": "(body)", "rule": "number_too_long",
                             "message": f"numbers have at most {MAX_INT_DIGITS} digits"}])
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as e:
        if any(err["type"] == "json_invalid" for err in e.errors()):
            raise _malformed() from None
        raise InvalidInput(field_errors(e)) from None


def _has_long_number(data: Any) -> bool:
    # Only numbers count: the digits may as well have been inside a string.
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and len(str(abs(item))) > MAX_INT_DIGITS:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _base_type(annotation: Any) -> Any:
    """``int`` for ``int | None``, ``Annotated[int, ...]`` and the like."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _query_value(kind: Any, text: str) -> tuple[Any, str | None]:
    """The value of one query parameter read by its field's type, or the rule it breaks."""
    if kind is bool:
        if text in ("true", "false"):
            return text == "true", None
        return None, "bool_parsing"
    if isinstance(kind, type) and issubclass(kind, int) and not issubclass(kind, bool) \
            and not _is_enum(kind):
        return (int(text), None) if _INT.fullmatch(text) else (None, "int_parsing")
    if kind is float:
        return (float(text), None) if _FLOAT.fullmatch(text) else (None, "float_parsing")
    if kind is dt.datetime:
        return (text, None) if _DATETIME.fullmatch(text) else (None, "datetime_parsing")
    if kind is dt.date:
        return (text, None) if _DATE_ONLY.fullmatch(text) else (None, "date_parsing")
    return text, None


def _is_enum(kind: type) -> bool:
    import enum
    return issubclass(kind, enum.Enum)


_RULE_MESSAGES = {
    "bool_parsing": "must be true or false",
    "int_parsing": f"must be a whole number of at most {MAX_INT_DIGITS} digits",
    "float_parsing": "must be a decimal number",
    "datetime_parsing": "must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z",
    "date_parsing": "must be an ISO 8601 date such as 2024-05-01",
    "duplicate": "is given more than once",
}


def parse_query(query: typing.Mapping[str, str] | Any, model: type[BaseModel]) -> BaseModel:
    """The query string as ``model``, each value read strictly by its field's type; 422
    naming the parameter and the rule otherwise. A parameter given twice is refused."""
    errors: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    names = {(f.alias or name): f for name, f in model.model_fields.items()}
    getall = getattr(query, "getall", None)
    for key in query:
        if key in data or any(e["field"] == f"query.{key}" for e in errors):
            continue
        values = getall(key) if getall is not None else [query[key]]
        if len(values) > 1:
            errors.append(_error(key, "duplicate"))
            continue
        info = names.get(key)
        if info is None:
            data[key] = values[0]  # the model decides about unknown parameters
            continue
        value, rule = _query_value(_base_type(info.annotation), values[0])
        if rule:
            errors.append(_error(key, rule))
        else:
            data[key] = value
    if errors:
        raise InvalidInput(errors)
    try:
        # Lax mode only for what the checks above left as text (enums, dates, strings).
        return model.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(field_errors(e, "query.")) from None


def _error(key: str, rule: str) -> dict[str, Any]:
    return {"field": f"query.{key}", "rule": rule, "message": _RULE_MESSAGES[rule]}


IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def idempotency_key(headers: typing.Mapping[str, str]) -> str | None:
    """The request's ``Idempotency-Key``: absent (None) or 1-255 visible ASCII characters,
    as every idempotent operation's document says; anything else is a 400."""
    key = headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidIdempotencyKey("Send 1 to 255 visible ASCII characters, e.g. a UUID.")
    return key


def check_path(match_info: Any, model: type[BaseModel]) -> None:
    """Path parameters as the document declares them: a value that does not fit (too long,
    wrong pattern) can name no resource, so it is a 404 like an unknown one, before any
    handler or database is asked."""
    try:
        model.model_validate({k: v for k, v in match_info.items() if k in model.model_fields})
    except ValidationError:
        raise NotFound("No such resource.") from None
