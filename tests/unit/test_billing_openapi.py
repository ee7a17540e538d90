"""billing's OpenAPI document describes every route with resolvable schemas (PLT-5)."""

from __future__ import annotations

import pytest

from services.billing.http import routes
from shared.http import openapi_document

pytestmark = pytest.mark.unit


def test_billing_openapi_names_every_route_and_every_ref_resolves(unresolved_refs):
    doc = openapi_document({"title": "billing", "version": "1"}, routes.entries)
    assert unresolved_refs(doc) == []
    assert {"/v1/payment-methods", "/v1/payment-methods/{method_id}/activation",
            "/v1/subscriptions", "/v1/invoices", "/v1/online-invoices",
            "/v1/billing-details"} <= set(doc["paths"])
    post = doc["paths"]["/v1/payment-methods"]["post"]
    assert {"201", "401", "403", "422", "503"} <= set(post["responses"])
