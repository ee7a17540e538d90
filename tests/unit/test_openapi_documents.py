"""Every service's OpenAPI document is valid OpenAPI 3.1, describes the invitation file upload
so generated clients send it, and ``/docs`` serves a Swagger UI that reads OpenAPI 3.1."""

from __future__ import annotations

import importlib
import re

import pytest
from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel

from services.identity.domain.invitation_files import CSV, XLSX
from services.identity.settings import IdentitySettings
from shared.auth import TokenVerifier
from shared.http import Routes, Upload, new_app, openapi_document
from shared.metrics import Metrics

pytestmark = pytest.mark.unit

SERVICES = ("identity", "billing", "contracts", "notifications")


def service_document(name: str) -> dict:
    definition = importlib.import_module(f"services.{name}.app").definition
    return openapi_document({"title": definition.title, "version": "1.0.0",
                             "description": definition.description}, definition.routes.entries)


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_api_document_is_valid_openapi_3_1(service):
    doc = service_document(service)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    assert doc["openapi"].startswith("3.1.")


def test_id11_invitation_import_documents_the_file_as_a_multipart_upload():
    """A client generated from the document sends the spreadsheet as the form field `file`."""
    post = service_document("identity")["paths"]["/v1/invitation-jobs"]["post"]
    body = post["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]
    assert form["schema"]["required"] == ["file"]
    part = form["schema"]["properties"]["file"]
    # OpenAPI 3.1 spelling of a binary part: a string with contentMediaType.
    assert part["type"] == "string" and part["contentMediaType"]
    assert {t.strip() for t in form["encoding"]["file"]["contentType"].split(",")} == {CSV, XLSX}
    limit = IdentitySettings.model_fields["invitation_file_max_bytes"].default
    assert part["x-max-bytes"] == limit
    assert "5 MB" in body["description"]
    assert "IDENTITY_INVITATION_FILE_MAX_BYTES" in body["description"]
    # The file may also be sent as the body itself, with its own media type.
    assert body["content"][CSV]["schema"]["contentMediaType"] == CSV
    assert body["content"][XLSX]["schema"]["contentMediaType"] == XLSX
    assert "5 MB" in post["responses"]["413"]["description"]
    assert "`file`" in post["responses"]["415"]["description"]


def test_a_route_declares_a_json_body_or_an_upload_not_both():
    class Thing(BaseModel):
        name: str

    routes = Routes()
    with pytest.raises(ValueError, match="not both"):
        @routes.post("/v1/things", body=Thing, upload=Upload("file", (CSV,), max_bytes=1024))
        async def create(request, body): ...


def test_an_upload_with_one_media_type_names_it_on_the_part():
    routes = Routes()

    @routes.post("/v1/imports", upload=Upload("sheet", (XLSX,), max_bytes=1000))
    async def upload_sheet(request) -> None:
        """Upload a sheet."""

    doc = openapi_document({"title": "t", "version": "1"}, routes.entries)
    body = doc["paths"]["/v1/imports"]["post"]["requestBody"]
    part = body["content"]["multipart/form-data"]["schema"]["properties"]["sheet"]
    assert part["contentMediaType"] == XLSX
    assert "1000 bytes" in body["description"]
    assert set(body["content"]) == {"multipart/form-data"}  # no raw body unless declared
    assert OpenAPIV31SpecValidator(doc).is_valid()


async def test_docs_page_serves_a_swagger_ui_that_reads_openapi_3_1(serve):
    """Swagger UI 4 answered "Unable to render this definition" for 3.1; 5 reads it."""
    app = new_app(metrics=Metrics("docs"), max_body_bytes=1024, title="Things <&>",
                  verifier=TokenVerifier("http://127.0.0.1:9/jwks", issuer="i", audience="a"))
    assert isinstance(app, web.Application)
    client = await serve(app)
    page = await client.get("/docs")
    assert page.status == 200
    text = await page.text()
    assert "<title>Things &lt;&amp;&gt; API</title>" in text
    assert "http://" not in text and "https://" not in text  # nothing from the internet
    script = await client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status == 200
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', await script.text())
    assert version is not None and int(version.group(1)) >= 5, version
    assert (await client.get("/docs/static/swagger-ui.css")).status == 200
