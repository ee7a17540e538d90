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
    for service, subs in catalogue.subscriptions().items():
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
