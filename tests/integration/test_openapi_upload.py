"""A client that knows only identity's `/openapi.json` uploads an invitee file (ID-11): the
document names the form field, the accepted media types and the raw-body alternative."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company, wait_for_job

pytestmark = pytest.mark.integration


async def test_id11_a_client_built_from_the_api_document_uploads_the_invitee_file(
        mongo_url, amqp_url, bus_prefix, unique):
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, \
            identity_running(mongo_url, amqp_url, bus_prefix, unique,
                         invitation_job_poll_seconds=0.2) as (url, _), \
            aiohttp.ClientSession() as http:
        admin = await register_company(http, url, tap)
        async with http.get(f"{url}/openapi.json") as r:
            body = (await r.json())["paths"]["/v1/invitation-jobs"]["post"]["requestBody"]
        form = body["content"]["multipart/form-data"]
        [field] = form["schema"]["required"]
        media_types = [t.strip() for t in form["encoding"][field]["contentType"].split(",")]
        csv = next(t for t in media_types if t.endswith("csv"))

        upload = aiohttp.FormData()
        upload.add_field(field, b"email,role\nada@example.com,user\n", filename="a.csv",
                         content_type=csv)
        async with http.post(f"{url}/v1/invitation-jobs", data=upload, headers=admin.auth) as r:
            job = await r.json()
            assert r.status == 202, job
        assert (await wait_for_job(http, url, admin, job["job_id"]))["invited"] == 1

        # The same file as the whole body, with the media type the document lists for it.
        assert csv in body["content"]
        async with http.post(f"{url}/v1/invitation-jobs",
                             data=b"email,role\nbob@example.com,user\n",
                             headers={**admin.auth, "Content-Type": csv}) as r:
            job = await r.json()
            assert r.status == 202, job
        assert (await wait_for_job(http, url, admin, job["job_id"]))["invited"] == 1


async def test_id11_a_malformed_form_is_refused_as_a_problem_not_a_server_error(
        mongo_url, amqp_url, bus_prefix, unique):
    """Forms a fuzzer (or a broken client) sends — a part without headers, no starting
    boundary — each a 422 naming what to send (they were 500s)."""
    boundary = "9cc651cd2c8d168349f50fede4c361ac"
    bodies = [f"--{boundary}\r\nFalse--{boundary}--\r\n", "not a form at all"]
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, \
            identity_running(mongo_url, amqp_url, bus_prefix, unique) as (url, _), \
            aiohttp.ClientSession() as http:
        admin = await register_company(http, url, tap)
        for body in bodies:
            async with http.post(f"{url}/v1/invitation-jobs", data=body.encode(), headers={
                    **admin.auth,
                    "Content-Type": f"multipart/form-data; boundary={boundary}"}) as r:
                problem = await r.json()
                assert r.status == 422, problem
                assert problem["type"] == "/problems/invitation-file-invalid"
