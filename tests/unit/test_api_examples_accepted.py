"""A client that copies an example from billing's, contracts' or notifications' API document
gets it accepted: each request body example passes the route's own strict parser (the
validators beyond the JSON schema too: countries, phone numbers, card-number guard, periods),
each query and path parameter example its model, and the billing examples that billing checks
further (IBAN and BIC, VAT id, card brand) pass those checks."""

from __future__ import annotations

import importlib
import json

import pytest

from services.billing.domain import sepa
from services.billing.domain.cards import brand
from services.billing.domain.details import check_vat_id
from services.billing.http.models import CreditCard, SepaDebit
from shared.errors import Problem
from shared.http import status_of
from shared.openapi import openapi_document
from shared.parsing import parse_json, parse_query

pytestmark = pytest.mark.unit

SERVICES = ("billing", "contracts", "notifications")


def document_and_routes(name: str) -> tuple[dict, list]:
    definition = importlib.import_module(f"services.{name}.app").definition
    entries = definition.routes.entries
    return openapi_document({"title": name, "version": "1"}, entries), entries


def refused(parse, *args) -> str | None:
    try:
        parse(*args)
    except Problem as p:
        return f"{status_of(p)} {p.detail} {p.extra.get('errors', '')}"
    return None


def query_text(value) -> str:
    # What a client puts in the URL for the value.
    return json.dumps(value) if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("service", SERVICES)
def test_every_documented_request_example_is_accepted_by_the_route(service):
    doc, routes = document_and_routes(service)
    problems = []
    for r in routes:
        where = f"{r.method} {r.path}"
        op = doc["paths"][r.path][r.method.lower()]
        if r.body is not None:
            example = op["requestBody"]["content"]["application/json"]["example"]
            why = refused(parse_json, json.dumps(example).encode(), r.body)
            if why:
                problems.append(f"{where} body: {why}")
        params = {p["name"]: p for p in op.get("parameters", ())}
        if r.query is not None:
            query = {name: query_text(p["schema"]["examples"][0]) for name, p in params.items()
                     if p["in"] == "query" and p["schema"].get("examples")
                     and p["schema"]["examples"][0] is not None}
            why = refused(parse_query, query, r.query)
            if why:
                problems.append(f"{where} query: {why}")
        if r.path_params is not None:
            values = {name: p["schema"]["examples"][0] for name, p in params.items()
                      if p["in"] == "path"}
            assert set(values) == set(r.path_params.model_fields), where
            r.path_params.model_validate(values)
    assert problems == []


def test_billing_payment_method_and_details_examples_pass_billings_own_checks():
    """What billing checks beyond the model: a client sending the documented SEPA mandate,
    card or billing details is not refused for the example's values."""
    fields = SepaDebit.model_fields
    iban = sepa.check_iban(fields["iban"].examples[0], "iban")
    sepa.check_bic(fields["bic"].examples[0], iban, "bic")
    assert brand(CreditCard.model_fields["brand"].examples[0]) is not None
    doc, _ = document_and_routes("billing")
    details = doc["paths"]["/v1/billing-details"]["put"]["requestBody"]["content"][
        "application/json"]["example"]
    assert check_vat_id(details["vat_id"], "vat_id") == details["vat_id"]
