"""The HTTP side every service shares: problem details, correlation ids, health, metrics, docs."""

from __future__ import annotations

import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.auth import Principal
from shared.errors import Forbidden
from shared.http import add_readiness_check, company_of
from tests.support.http_apps import LAMP, thing_app

pytestmark = pytest.mark.unit


def valid_thing(**address: str) -> dict:
    return {"name": "Lamp", "address": {"street": "Main 1", "postcode": "1051",
                                        "city": "Budapest", **address}}


async def problem_of(response, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json(content_type=None)
    assert {"type", "title", "status"} <= body.keys()
    assert body["status"] == status
    return body


# --- problem details -------------------------------------------------------------------------

async def test_a_valid_body_is_created_and_answered_with_the_response_model(client):
    response = await client.post("/v1/things", json=valid_thing())
    assert response.status == 201
    assert await response.json() == {"id": "t-9", **valid_thing()}


async def test_invalid_nested_field_is_named_by_dotted_path_and_rule_without_its_value(client):
    response = await client.post("/v1/things", json=valid_thing(postcode="zq9"))
    body = await problem_of(response, 422)
    assert body["type"] == "/problems/validation-error"
    assert body["instance"] == "/v1/things"
    assert body["detail"]
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [
        ("address.postcode", "string_too_short")]
    assert "zq9" not in await response.text()


async def test_every_invalid_field_is_listed(client):
    response = await client.post("/v1/things", json={"name": "", "address": {"city": "X"}})
    body = await problem_of(response, 422)
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("name", "string_too_short"), ("address.street", "missing"),
        ("address.postcode", "missing")}


async def test_invalid_query_parameter_is_named_with_query_prefix(client):
    response = await client.get("/v1/things", params={"limit": "0"})
    body = await problem_of(response, 422)
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [
        ("query.limit", "greater_than_equal")]


async def test_valid_query_parameters_reach_the_handler(client):
    response = await client.get("/v1/things", params={"limit": "1", "order": "oldest"})
    assert response.status == 200
    assert (await response.json())["order"] == "oldest"


async def test_malformed_json_is_a_400_problem(client):
    response = await client.post("/v1/things", data=b'{"name": "Lamp", ',
                                 headers={"Content-Type": "application/json"})
    body = await problem_of(response, 400)
    assert body["type"] == "/problems/malformed-json"


async def test_body_in_another_content_type_is_a_415_problem(client):
    response = await client.post("/v1/things", data=json.dumps(valid_thing()),
                                 headers={"Content-Type": "text/plain"})
    body = await problem_of(response, 415)
    assert body["type"] == "/problems/unsupported-media-type"


async def test_unknown_path_is_a_404_problem(client):
    response = await client.get("/v1/nothing-here")
    body = await problem_of(response, 404)
    assert body["instance"] == "/v1/nothing-here"
    assert body["detail"] == "No such resource."


async def test_wrong_method_is_a_405_problem_with_the_allowed_methods(client):
    response = await client.put("/v1/things", json=valid_thing())
    body = await problem_of(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert "PUT" in body["detail"]


async def test_body_over_the_limit_is_a_413_problem(serve):
    client = await serve(thing_app(max_body_bytes=1024))
    response = await client.post("/v1/things", json={**valid_thing(), "name": "x" * 4096})
    body = await problem_of(response, 413)
    assert "1024" in body["detail"]


async def test_domain_problem_keeps_its_status_type_and_extra_members(client):
    response = await client.get("/v1/things/archived")
    body = await problem_of(response, 410)
    assert body["type"] == "/problems/thing-archived"
    assert body["title"] == "The thing is archived"
    assert body["detail"] == "This thing was archived."
    assert body["archived_at"] == "2026-01-31"


async def test_unexpected_error_is_a_generic_500_without_internals(client):
    response = await client.get("/v1/things/broken")
    body = await problem_of(response, 500)
    assert body["detail"] == "Something went wrong on our side."
    text = await response.text()
    for leak in ("hunter2", "mongodb://", "RuntimeError", "Traceback", "get_thing"):
        assert leak not in text


async def test_undeclared_fields_of_a_stored_document_are_not_answered(client):
    response = await client.get("/v1/things/stored")
    assert response.status == 200
    body = await response.json()
    assert body["id"] == "stored"
    assert "password_hash" not in body


async def test_models_and_datetimes_inside_plain_data_are_answered_as_json(client):
    response = await client.get("/v1/summary")
    assert response.status == 200
    assert await response.json() == {"things": [LAMP.model_dump()],
                                     "at": "2026-01-31T12:00:00Z"}


# --- correlation id --------------------------------------------------------------------------

async def test_incoming_correlation_id_is_echoed_and_named_in_problems(client):
    response = await client.get("/v1/nothing-here", headers={"X-Correlation-ID": "portal-42"})
    assert response.headers["X-Correlation-ID"] == "portal-42"
    assert (await response.json(content_type=None))["correlation_id"] == "portal-42"


async def test_a_correlation_id_is_made_when_none_is_sent(client):
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Correlation-ID"])
    assert first.headers["X-Correlation-ID"] != second.headers["X-Correlation-ID"]


@pytest.mark.parametrize("sent", ["has spaces", "x" * 101, "<script>", "semi;colon"])
async def test_an_invalid_correlation_id_is_replaced(client, sent):
    response = await client.get("/v1/things/archived", headers={"X-Correlation-ID": sent})
    made = response.headers["X-Correlation-ID"]
    assert made != sent and re.fullmatch(r"[0-9a-f]{32}", made)
    assert (await response.json(content_type=None))["correlation_id"] == made


# --- health, metrics -------------------------------------------------------------------------

async def test_live_answers_200(client):
    response = await client.get("/health/live")
    assert response.status == 200
    assert (await response.json())["status"] == "live"


async def test_ready_is_503_and_names_the_failing_check(serve):
    app = thing_app()

    async def broker_reachable() -> bool:
        return True

    add_readiness_check(app, "mongodb", lambda: False)
    add_readiness_check(app, "broker", broker_reachable)
    client = await serve(app)
    response = await client.get("/health/ready")
    assert response.status == 503
    body = await response.json()
    assert body["checks"] == {"mongodb": "failing", "broker": "ok"}
    assert body["failing"] == ["mongodb"]


async def test_ready_counts_a_check_that_raises_as_failing(serve):
    app = thing_app()

    def consumers_attached() -> bool:
        raise ConnectionError("channel closed")

    add_readiness_check(app, "consumers", consumers_attached)
    client = await serve(app)
    response = await client.get("/health/ready")
    assert response.status == 503
    assert (await response.json())["failing"] == ["consumers"]


async def test_ready_is_200_when_every_check_passes(serve):
    app = thing_app()

    async def mongodb_pings() -> bool:
        return True

    add_readiness_check(app, "mongodb", mongodb_pings)
    add_readiness_check(app, "relay", lambda: True)
    client = await serve(app)
    response = await client.get("/health/ready")
    assert response.status == 200
    assert await response.json() == {"status": "ready",
                                     "checks": {"mongodb": "ok", "relay": "ok"}}


async def test_metrics_count_requests_by_route_template_and_status(client):
    for thing_id in ("t-1", "t-2"):
        assert (await client.get(f"/v1/things/{thing_id}")).status == 200
    await client.get("/v1/things/archived")
    await client.get("/v1/nowhere/t-3")
    # The parser knows WebDAV's methods and more: each would otherwise be a series.
    await client.request("PROPFIND", "/v1/things/t-4")
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    samples = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
               for family in text_string_to_metric_families(text)
               if family.name == "bap_http_requests"
               for s in family.samples if s.name == "bap_http_requests_total"}
    assert samples[("GET", "/v1/things/{id}", "200")] == 2
    assert samples[("GET", "/v1/things/{id}", "410")] == 1
    assert samples[("GET", "unmatched", "404")] == 1
    # A method a client makes up is no new series of its own.
    assert [m for m, _, _ in samples if m not in ("GET", "POST")] == ["other"]
    assert "t-1" not in text and "t-3" not in text and "PROPFIND" not in text


# --- OpenAPI and docs ------------------------------------------------------------------------

async def test_openapi_is_version_3_1_with_the_app_title(openapi):
    assert openapi["openapi"] == "3.1.0"
    assert openapi["info"]["title"] == "Things"
    assert set(openapi["paths"]) == {"/v1/things", "/v1/things/{id}", "/v1/categories",
                                     "/v1/summary"}


async def test_openapi_describes_the_request_body_model(openapi, follow):
    create = openapi["paths"]["/v1/things"]["post"]
    schema = follow(openapi, create["requestBody"]["content"]["application/json"]["schema"])
    assert set(schema["required"]) == {"name", "address"}
    address = follow(openapi, schema["properties"]["address"])
    assert address["properties"]["postcode"]["minLength"] == 4
    assert {"201", "400", "413", "415", "422"} <= set(create["responses"])
    problem = create["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert follow(openapi, problem)["required"] == ["type", "title", "status"]


async def test_openapi_lists_path_and_query_parameters(openapi, follow):
    get_one = openapi["paths"]["/v1/things/{id}"]["get"]
    (path,) = [p for p in get_one["parameters"] if p["in"] == "path"]
    assert (path["name"], path["required"], path["schema"]["type"]) == ("id", True, "string")
    assert path["description"]
    # Every operation reads and answers the correlation id.
    assert "X-Correlation-ID" in {p["name"] for p in get_one["parameters"] if p["in"] == "header"}
    listing = {p["name"]: p for p in openapi["paths"]["/v1/things"]["get"]["parameters"]}
    assert listing["limit"]["in"] == "query" and listing["limit"]["schema"]["maximum"] == 100
    assert follow(openapi, listing["order"]["schema"])["enum"] == ["newest", "oldest"]


async def test_openapi_gives_401_and_403_to_routes_with_access(openapi):
    delete = openapi["paths"]["/v1/things/{id}"]["delete"]
    assert {"204", "401", "403"} <= set(delete["responses"])
    # OpenAPI 3.1: a bearer requirement names the roles of which the caller needs one.
    assert delete["security"] == [{"bearer": ["company_admin"]}]
    assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "401" not in openapi["paths"]["/v1/things/{id}"]["get"]["responses"]


async def test_openapi_refs_all_resolve(openapi, unresolved_refs):
    assert unresolved_refs(openapi) == []


async def test_openapi_describes_a_recursive_model(openapi, follow):
    tree = openapi["paths"]["/v1/categories"]["get"]["responses"]["200"]
    schema = follow(openapi, tree["content"]["application/json"]["schema"])
    assert schema["properties"]["name"]["type"] == "string"
    assert follow(openapi, schema["properties"]["children"]["items"]) == schema


async def test_docs_page_loads_swagger_ui_from_this_service(client):
    page = await client.get("/docs")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert "/docs/static/swagger-ui-bundle.js" in html
    assert "/openapi.json" in html
    assert "https://" not in html and "http://" not in html
    script = await client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status == 200
    assert len(await script.read()) > 100_000
    css = await client.get("/docs/static/swagger-ui.css")
    assert css.status == 200


def test_company_of_names_the_callers_company_and_refuses_a_token_of_none():
    assert company_of(Principal(subject="u1", kind="user", company_id="c1")) == "c1"
    with pytest.raises(Forbidden):
        company_of(Principal(subject="support", kind="client", company_id=None))
