"""CloudEvents 1.0 envelopes, versioned event types, and the AsyncAPI catalogue built from them.

Each service declares the events it publishes as ``EventSpec`` entries in its own
``events.py``; a consumer reads the fields it needs with a model of its own. The catalogue
(``build_asyncapi``) is generated from every spec, including those of outside systems.
"""

from __future__ import annotations

import builtins
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import models_json_schema
from pydantic_core import to_jsonable_python

from shared import tracing
from shared.logging import correlation_id

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[1-9][0-9]*$")
# The characters of an RFC 3986 URI reference (CloudEvents' ``source``): no spaces.
_URI_REFERENCE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_SCHEMA_REF = "#/components/schemas/{model}"
# W3C Trace Context (version 00): what the CloudEvents distributed-tracing extension carries.
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
TRACESTATE_MAX = 512


def check_event_type(etype: str) -> str:
    """``etype`` if it is ``<domain>.<name>[.<name>…].v<N>``, lower case; else ValueError."""
    # fullmatch: with match(), "$" would also accept a trailing newline.
    if not isinstance(etype, str) or not EVENT_TYPE.fullmatch(etype):
        raise ValueError(f"event type {etype!r} is not <domain>.<name>.v<N> in lower case")
    return etype


class CloudEvent(BaseModel):
    """The envelope of every event on the bus (CloudEvents 1.0, JSON structured mode)."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(pattern=EVENT_TYPE.pattern)
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    correlationid: str | None = None
    companyid: str | None = None
    # The CloudEvents distributed-tracing extension: the W3C context the event was created
    # in. Best effort: a malformed value is dropped, never a reason to refuse the event.
    traceparent: str | None = Field(default=None, json_schema_extra={
        "pattern": TRACEPARENT.pattern,
        "description": "W3C traceparent of the span in which the event was created "
                       "(CloudEvents distributed-tracing extension)"})
    tracestate: str | None = Field(default=None, json_schema_extra={
        "maxLength": TRACESTATE_MAX,
        "description": "W3C tracestate that goes with traceparent (vendor-specific)"})

    @field_validator("traceparent", mode="before")
    @classmethod
    def _traceparent(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and TRACEPARENT.fullmatch(value) else None

    @field_validator("tracestate", mode="before")
    @classmethod
    def _tracestate(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and len(value) <= TRACESTATE_MAX else None


class EventData(BaseModel):
    """Base of every event's data model: unknown fields are kept out, not rejected."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class EventSpec:
    """One event type: its versioned name, data model, publisher and meaning.

    ``source`` is the CloudEvents ``source`` the publisher writes (a URI reference); it
    defaults to ``/services/<publisher>``, right for this platform's services. An outside
    system's spec names its own (``/crm``), since its publisher's name is prose.
    """

    type: str
    # builtins.type: the field above shadows the builtin inside the class body.
    model: builtins.type[BaseModel]
    publisher: str
    summary: str
    example: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        check_event_type(self.type)
        if not _URI_REFERENCE.fullmatch(self.event_source):
            raise ValueError(f"{self.type}: source {self.event_source!r} is not a URI "
                             "reference; give the spec a source such as /crm")

    @property
    def event_source(self) -> str:
        return self.source or f"/services/{self.publisher}"


def make_event(
    spec: EventSpec | str,
    data: BaseModel | dict[str, Any],
    *,
    source: str,
    subject: str | None = None,
    company_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build the JSON-ready envelope of a new event, carrying the current correlation id and
    trace context (``traceparent``/``tracestate`` when a span is recording).

    ``data`` given as a dict is checked against the spec's model (ValidationError if it does
    not fit), so an event never leaves with a shape its catalogue entry does not describe.
    """
    etype = spec.type if isinstance(spec, EventSpec) else check_event_type(spec)
    if isinstance(data, BaseModel):
        payload = data.model_dump(mode="json")
    elif isinstance(spec, EventSpec):
        payload = spec.model.model_validate(data).model_dump(mode="json")
    else:
        payload = to_jsonable_python(data)
    envelope = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": etype,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": payload,
        "correlationid": correlation_id.get() or uuid.uuid4().hex,
        **tracing.event_attributes(),
    }
    if subject is not None:
        envelope["subject"] = subject
    if company_id is not None:
        envelope["companyid"] = company_id
    return envelope


def build_asyncapi(specs: list[EventSpec], consumers: dict[str, list[str]],
                   *, title: str = "Business Account Platform events",
                   exchange: str = "bap.events") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event type: channel = routing key = event type.

    ``consumers`` maps an event type to the services that subscribe to it. A type listed
    twice, or consumed but described by no spec, is a ValueError: the catalogue is complete.
    """
    by_type: dict[str, EventSpec] = {}
    for spec in specs:
        if spec.type in by_type and by_type[spec.type] != spec:
            raise ValueError(f"event type {spec.type!r} is declared twice, differently")
        by_type[spec.type] = spec
    undocumented = sorted(set(consumers) - set(by_type))
    if undocumented:
        raise ValueError(f"consumed event types without a spec: {undocumented}")
    keys = {t: t.replace(".", "_") for t in by_type}
    if len(set(keys.values())) != len(keys):
        raise ValueError("two event types differ only in '.' versus '_'")

    envelope_schema = CloudEvent.model_json_schema(ref_template=_SCHEMA_REF)
    envelope_schema["properties"].pop("data", None)
    # One generation for every model: two models of the same name get distinct entries.
    models = list(dict.fromkeys(by_type[t].model for t in sorted(by_type)))
    refs, defs = models_json_schema([(m, "validation") for m in models],
                                    ref_template=_SCHEMA_REF)
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "CloudEvent": envelope_schema}

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for etype in sorted(by_type):
        spec, key = by_type[etype], keys[etype]
        subscribers = sorted(consumers.get(etype, []))
        messages[key] = {
            "name": etype,
            "title": etype,
            "summary": spec.summary,
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"type": "object", "required": ["data"],
                     "properties": {"type": {"const": etype},
                                    "data": refs[(spec.model, "validation")]}},
                ]
            },
            "x-publisher": spec.publisher,
            "x-consumers": subscribers,
        }
        if spec.example:
            messages[key]["examples"] = [{"name": "example", "payload": _example(spec)}]
        channels[key] = {
            "address": etype,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True}}},
        }
        operation = {"channel": {"$ref": f"#/channels/{key}"},
                     "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}]}
        operations[f"publish_{key}"] = {
            "action": "send", "summary": f"{spec.publisher} publishes it", **operation}
        for consumer in subscribers:
            operations[f"{consumer}_receives_{key}"] = {
                "action": "receive", "summary": f"{consumer} consumes it", **operation}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": "1.0.0", "description":
                 "Every event on the platform's topic exchange. Routing key = type."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _example(spec: EventSpec) -> dict[str, Any]:
    """A whole envelope around the spec's example data: the message payload is the envelope."""
    return {"specversion": "1.0", "id": "00000000-0000-4000-8000-000000000000",
            "source": spec.event_source, "type": spec.type,
            "time": "2026-01-01T00:00:00+00:00", "datacontenttype": "application/json",
            "correlationid": "4bf92f3577b34da6a3ce929d0e0e4736",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "data": spec.example}
