"""What the kit's document generator tells a client team about one operation: its texts
without requirement ids, the headers it reads and writes, every problem it can answer with an
example, who may call it, typed path parameters and examples composed from the fields'; and
the answers behind two of those promises (503 with Retry-After when the database is away,
an Allow header that names the documented methods)."""

from __future__ import annotations

import pytest
from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel, Field
from pymongo.errors import ServerSelectionTimeoutError

from shared.auth import COMPANY_ADMIN, Access, TokenVerifier
from shared.http import Routes, Upload, add_routes, new_app, openapi_document
from shared.metrics import Metrics

pytestmark = pytest.mark.unit


class NewThing(BaseModel):
    """A thing to make."""

    name: str = Field(description="What it is called.", examples=["Lamp"])
    colour: str = Field(default="red", description="Its colour.")
    note: str | None = Field(default=None, description="Anything else.")
    size: int = Field(description="How big.", ge=1)


class Thing(NewThing):
    """A thing that was made."""

    id: str = Field(description="Its id.", examples=["t-1"])


class ThingPath(BaseModel):
    thing_id: str = Field(description="The thing's id.", pattern=r"^t-[0-9]+$",
                          examples=["t-1"])


routes = Routes()


@routes.post("/v1/things", body=NewThing, response=Thing, status=201, idempotent=True,
             location=True, problems=(409, 429),
             access=Access.of(roles=(COMPANY_ADMIN,), scopes=("things:write",)))
async def make_thing(request, body, principal) -> Thing:
    """ID-3 / BIL-2: make a thing (PLT-1). Its id is in `Location`.

    A second paragraph with more about the thing (seed 004)."""


@routes.get("/v1/things/{thing_id}", response=Thing, path_params=ThingPath)
async def get_thing(request) -> Thing:
    """One thing"""


@routes.get("/v1/things/search", response=Thing)
async def search_things(request) -> Thing:
    """Find a thing."""
    raise ServerSelectionTimeoutError("no primary")


def document() -> dict:
    return openapi_document({"title": "Things", "version": "1"}, routes.entries,
                            token_url="http://identity.test/v1/oauth/token")


def test_the_document_stays_valid_openapi_3_1():
    assert list(OpenAPIV31SpecValidator(document()).iter_errors()) == []


def test_summary_and_description_leave_requirement_ids_out_and_keep_them_aside():
    op = document()["paths"]["/v1/things"]["post"]
    assert op["summary"] == "Make a thing"
    assert op["description"].startswith("Make a thing. Its id is in `Location`.")
    assert "A second paragraph with more about the thing." in op["description"]
    for text in (op["summary"], op["description"]):
        assert "ID-3" not in text and "BIL-2" not in text and "PLT-1" not in text
        assert "seed 004" not in text
    assert op["x-requirements"] == ["ID-3", "BIL-2", "PLT-1", "seed 004"]
    # A one-line docstring without a full stop is the summary; the description repeats it.
    one = document()["paths"]["/v1/things/{thing_id}"]["get"]
    assert (one["summary"], one["description"]) == ("One thing", "One thing")


def test_headers_read_and_written_are_described():
    op = document()["paths"]["/v1/things"]["post"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["X-Correlation-ID"]["in"] == "header"
    assert params["Idempotency-Key"]["schema"]["maxLength"] == 255
    created = op["responses"]["201"]["headers"]
    assert created["Location"]["required"] is True
    assert created["X-Correlation-ID"]["required"] is True
    assert "Idempotent-Replayed" in created
    # A route without the flags reads no Idempotency-Key and promises no Location.
    get = document()["paths"]["/v1/things/{thing_id}"]["get"]
    assert "Idempotency-Key" not in {p["name"] for p in get["parameters"]}
    assert "Location" not in get["responses"]["200"]["headers"]


def test_every_problem_the_operation_can_answer_is_listed_with_an_example():
    responses = document()["paths"]["/v1/things"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(responses)
    for status in ("429", "503"):
        assert "Retry-After" in responses[status]["headers"]
    example = responses["422"]["content"]["application/problem+json"]["example"]
    assert example["status"] == 422 and example["errors"][0]["field"]
    # Path ids can be unknown: 404; no body, no 413/415.
    get = document()["paths"]["/v1/things/{thing_id}"]["get"]["responses"]
    assert "404" in get and "415" not in get and "401" not in get


def test_security_names_the_roles_and_the_client_scopes():
    doc = document()
    op = doc["paths"]["/v1/things"]["post"]
    assert op["security"] == [{"bearer": ["company_admin"]},
                              {"internalClient": ["things:write"]}]
    assert op["x-required-roles"] == ["company_admin"]
    assert op["x-required-scopes"] == ["things:write"]
    assert "`company_admin`" in op["description"] and "`things:write`" in op["description"]
    flow = doc["components"]["securitySchemes"]["internalClient"]["flows"]["clientCredentials"]
    assert flow == {"tokenUrl": "http://identity.test/v1/oauth/token",
                    "scopes": {"things:write": "Internal clients' access: things:write"}}
    assert doc["paths"]["/v1/things/{thing_id}"]["get"]["security"] == []


def test_path_parameters_are_typed_by_the_routes_model():
    (param,) = [p for p in document()["paths"]["/v1/things/{thing_id}"]["get"]["parameters"]
                if p["in"] == "path"]
    assert param["schema"]["pattern"] == "^t-[0-9]+$"
    assert param["description"] == "The thing's id."


def test_examples_are_composed_from_the_fields_examples():
    op = document()["paths"]["/v1/things"]["post"]
    # `size` has a minimum, `colour` a default; `note` (optional, nothing to go by) is left out.
    assert op["requestBody"]["content"]["application/json"]["example"] == {
        "name": "Lamp", "colour": "red", "size": 1}
    assert op["responses"]["201"]["content"]["application/json"]["example"]["id"] == "t-1"


async def test_a_database_that_can_not_be_reached_answers_503_with_retry_after(serve):
    app = new_app(metrics=Metrics("things"), max_body_bytes=1024, title="Things",
                  verifier=TokenVerifier("http://127.0.0.1:9/.well-known/jwks.json",
                                         issuer="i", audience="a"))
    add_routes(app, routes)
    assert isinstance(app, web.Application)
    client = await serve(app)
    response = await client.get("/v1/things/search")
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["type"] == "/problems/service-unavailable"
    # The served document names identity (the JWKS's host) as the token endpoint.
    served = await (await client.get("/openapi.json")).json()
    flow = served["components"]["securitySchemes"]["internalClient"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == "http://127.0.0.1:9/v1/oauth/token"


async def test_a_405_allows_the_methods_the_document_lists_for_a_fixed_path(serve):
    """``/v1/things/search`` (GET) also matches ``/v1/things/{thing_id}``; aiohttp alone would
    advertise that route's methods for it too."""
    extra = Routes()

    @extra.delete("/v1/things/{thing_id}")
    async def delete_thing(request) -> None:
        """Delete a thing."""

    @extra.get("/v1/things/{thing_id}/history")
    async def thing_history(request) -> None:
        """A thing's history."""

    @extra.delete("/v1/things/{thing_id}/{part}")
    async def delete_part(request) -> None:
        """Delete a part of a thing."""

    app = new_app(metrics=Metrics("things2"), max_body_bytes=1024, title="Things",
                  verifier=TokenVerifier("http://127.0.0.1:9/jwks", issuer="i", audience="a"))
    add_routes(app, routes)
    add_routes(app, extra)
    client = await serve(app)
    response = await client.put("/v1/things/search")
    assert response.status == 405
    assert response.headers["Allow"] == "GET"
    assert (await client.put("/v1/things/t-1")).headers["Allow"] == "DELETE,GET"
    # Between two paths with parameters, the one with fewer names the methods.
    assert (await client.put("/v1/things/t-1/history")).headers["Allow"] == "GET"


async def test_an_idempotency_key_the_document_does_not_allow_is_refused_before_the_handler(
        serve):
    calls = []
    orders = Routes()

    @orders.post("/v1/orders", idempotent=True)
    async def order(request) -> None:
        """Order."""
        calls.append(request.headers.get("Idempotency-Key"))

    app = new_app(metrics=Metrics("orders"), max_body_bytes=1024, title="Orders",
                  verifier=TokenVerifier("http://127.0.0.1:9/jwks", issuer="i", audience="a"))
    add_routes(app, orders)
    client = await serve(app)
    for bad in ("", "a b", "x" * 256, "schl\u00fcssel"):
        response = await client.post("/v1/orders", headers={"Idempotency-Key": bad})
        assert response.status == 400, bad
        assert (await response.json())["type"] == "/problems/invalid-idempotency-key"
    assert (await client.post("/v1/orders", headers={"Idempotency-Key": "k-1"})).status == 204
    assert (await client.post("/v1/orders")).status == 204
    assert calls == ["k-1", None]


async def test_a_multipart_upload_without_its_boundary_is_refused_as_unreadable(serve):
    """aiohttp's multipart reader raises a ValueError for it: a 500 before the kit checked."""
    uploads = Routes()

    @uploads.post("/v1/imports", upload=Upload("file", ("text/csv",), max_bytes=1000))
    async def upload(request) -> None:
        """Upload."""
        await request.multipart()

    app = new_app(metrics=Metrics("uploads"), max_body_bytes=1024, title="Uploads",
                  verifier=TokenVerifier("http://127.0.0.1:9/jwks", issuer="i", audience="a"))
    add_routes(app, uploads)
    client = await serve(app)
    response = await client.post("/v1/imports", data=b"x",
                                 headers={"Content-Type": "multipart/form-data"})
    assert response.status == 415
    assert (await response.json())["type"] == "/problems/unsupported-media-type"
