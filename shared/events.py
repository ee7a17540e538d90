"""CloudEvents 1.0 envelopes, versioned event types, and the AsyncAPI catalogue built from them.

Each service declares the events it publishes as ``EventSpec`` entries in its own
``events.py``; a consumer reads the fields it needs with a model of its own. The catalogue
(``build_asyncapi``) is generated from every spec, including those of outside systems.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.logging import correlation_id

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[0-9]+$")


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


class EventData(BaseModel):
    """Base of every event's data model: unknown fields are kept out, not rejected."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class EventSpec:
    """One event type: its versioned name, data model, publisher and meaning."""

    type: str
    model: type[BaseModel]
    publisher: str
    summary: str
    example: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not EVENT_TYPE.match(self.type):
            raise ValueError(f"event type {self.type!r} is not <domain>.<name>.v<N>")


def make_event(
    spec: EventSpec | str,
    data: BaseModel | dict[str, Any],
    *,
    source: str,
    subject: str | None = None,
    company_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build the JSON-ready envelope of a new event, carrying the current correlation id."""
    etype = spec.type if isinstance(spec, EventSpec) else spec
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    envelope = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": etype,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": payload,
        "correlationid": correlation_id.get() or uuid.uuid4().hex,
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

    ``consumers`` maps an event type to the services that subscribe to it.
    """
    envelope_schema = CloudEvent.model_json_schema()
    envelope_schema["properties"].pop("data", None)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in sorted(specs, key=lambda s: s.type):
        key = spec.type.replace(".", "_")
        schema = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = schema.pop("$defs", {})
        messages[key] = {
            "name": spec.type,
            "title": spec.type,
            "summary": spec.summary,
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"type": "object", "required": ["data"],
                     "properties": {"type": {"const": spec.type}, "data": schema}},
                ]
            },
            "x-publisher": spec.publisher,
            "x-consumers": sorted(consumers.get(spec.type, [])),
            **({"examples": [{"payload": spec.example}]} if spec.example else {}),
        }
        messages[key]["payload"]["allOf"][1]["properties"]["data"].pop("title", None)
        for name, d in defs.items():
            envelope_schema.setdefault("$defs_collected", {})[name] = d
        channels[key] = {
            "address": spec.type,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey",
                                  "exchange": {"name": exchange, "type": "topic", "durable": True}}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "summary": f"{spec.publisher} publishes it",
            "channel": {"$ref": f"#/channels/{key}"},
        }
        for consumer in sorted(consumers.get(spec.type, [])):
            operations[f"{consumer}_receives_{key}"] = {
                "action": "receive",
                "summary": f"{consumer} consumes it",
                "channel": {"$ref": f"#/channels/{key}"},
            }
    collected = envelope_schema.pop("$defs_collected", {})
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": "1.0.0",
                 "description": "Every event on the platform's topic exchange. Routing key = type."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages,
                       "schemas": {"CloudEvent": envelope_schema, **collected}},
    }
