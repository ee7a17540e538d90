"""The event catalogue (docs/asyncapi.json and the README table) is true to the code."""

from __future__ import annotations

import json

import pytest

from scripts import catalogue

pytestmark = pytest.mark.unit


def test_asyncapi_document_is_up_to_date():
    assert catalogue.ASYNCAPI.read_text() == catalogue.render_asyncapi(), (
        "docs/asyncapi.json is stale: run `.venv/bin/python -m scripts.catalogue`")


def test_readme_catalogue_table_is_up_to_date():
    text = catalogue.README.read_text()
    assert catalogue.readme_with_table(text) == text, (
        "README's event catalogue is stale: run `.venv/bin/python -m scripts.catalogue`")


def test_every_consumed_event_type_has_a_published_schema():
    published = {s.type for s in catalogue.published()}
    for service, subs in catalogue.subscriptions().items():
        for s in subs:
            assert s.type in published, f"{service} consumes {s.type}, which nobody documents"


def test_each_consumer_reads_the_publishers_example():
    """A consumer's own reader model accepts what the publisher documents (contract test)."""
    examples = {s.type: s.example for s in catalogue.published()}
    for _service, subs in catalogue.subscriptions().items():
        for s in subs:
            example = examples[s.type]
            assert example, f"{s.type} has no example in its publisher's spec"
            s.model.model_validate(example)


def test_publisher_examples_match_their_own_schema():
    for spec in catalogue.published():
        if spec.example:
            spec.model.model_validate(spec.example)


def test_event_types_are_unique_and_versioned():
    types = [s.type for s in catalogue.published()]
    assert len(types) == len(set(types))
    doc = json.loads(catalogue.render_asyncapi())
    assert {c["address"] for c in doc["channels"].values()} == set(types)


# CloudEvents 1.0's JSON schema (the spec's cloudevents.json for the JSON event format): the
# required attributes and their formats, plus the spec's rule for attribute names.
CLOUDEVENTS_1_0 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["specversion", "id", "type", "source"],
    "propertyNames": {"pattern": "^[a-z0-9]+$"},
    "properties": {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "format": "uri-reference", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "datacontenttype": {"type": "string"},
        "dataschema": {"type": "string", "format": "uri"},
        "subject": {"type": "string", "minLength": 1},
        "time": {"type": "string", "format": "date-time"},
        "data": {"type": ["object", "string"]},
        "data_base64": {"type": "string"},
    },
}


def cloudevents_validator():
    from jsonschema import Draft7Validator, FormatChecker

    checker = FormatChecker()
    # Without rfc3986-validator / rfc3339-validator jsonschema skips these formats silently.
    assert not checker.conforms("/services/invoicing engine", "uri-reference")
    assert not checker.conforms("2026-01-01 noon", "date-time")
    return Draft7Validator(CLOUDEVENTS_1_0, format_checker=checker)


def test_every_catalogue_example_is_a_valid_cloudevent():
    """Each example in docs/asyncapi.json is a whole CloudEvents 1.0 envelope (was: a source
    with a space for the invoicing engine and the credit-check provider)."""
    validator = cloudevents_validator()
    doc = json.loads(catalogue.render_asyncapi())
    problems, seen = [], 0
    for key, message in doc["components"]["messages"].items():
        for example in message.get("examples", []):
            seen += 1
            payload = example["payload"]
            problems += [f"{key}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                         for e in validator.iter_errors(payload)]
            assert payload["type"] == message["name"]
    assert problems == []
    assert seen == len(catalogue.published())


def test_an_outside_systems_example_carries_its_own_source():
    sources = {s.type: s.event_source for s in catalogue.published()}
    assert sources["invoicing.invoice.issued.v1"] == "/invoicing"
    assert sources["creditcheck.result.v1"] == "/credit-check"
    assert sources["billing.invoice.recorded.v1"] == "/services/billing"


def test_an_event_spec_with_a_source_that_is_no_uri_reference_is_refused():
    from pydantic import BaseModel

    from shared.events import EventSpec

    with pytest.raises(ValueError, match="URI reference"):
        EventSpec("crm.thing.done.v1", BaseModel, "the CRM system", "A thing was done.")
