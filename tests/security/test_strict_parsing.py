"""Issue 9 part 8 (ASVS V2): input is read as exactly what it is, never coerced; set-like lists
refuse duplicates; a huge number is a 422; a request that is not HTTP gets a problem."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aiohttp
import pytest

from services.notifications.app import build as build_notifications
from services.notifications.settings import NotificationsSettings
from tests.support.identity import register_company
from tests.support.polling import eventually
from tests.support.services import running, settings_for
from tests.support.tokens import TokenAuthority

pytestmark = pytest.mark.security


@contextlib.asynccontextmanager
async def notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path: Path):
    """notifications in this process, trusting tokens of a test authority."""
    async with TokenAuthority.serving() as authority:
        settings = settings_for(NotificationsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                                bus_prefix=bus_prefix, unique=unique,
                                mail_dir=str(tmp_path / "mail"), sms_dir=str(tmp_path / "sms"),
                                jwks_url=authority.jwks_url)
        async with running(build_notifications, settings) as server, \
                aiohttp.ClientSession() as http:
            yield str(server.make_url("")).rstrip("/"), authority, http


def rules_of(body: dict) -> dict[str, str]:
    return {e["field"]: e["rule"] for e in body.get("errors", [])}


async def test_text_and_numbers_are_not_booleans_in_a_json_body(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """``{"email": "true", "sms": 0}`` was stored as opt-in/opt-out; now it is refused."""
    async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            url, authority, http):
        headers = authority.headers(company_id="c-1", roles=["user"])
        async with http.put(f"{url}/v1/me/notification-preferences", headers=headers,
                            json={"email": "true", "sms": 0}) as r:
            body = await r.json()
            assert r.status == 422, body
            assert r.content_type == "application/problem+json"
            assert rules_of(body) == {"email": "bool_type", "sms": "bool_type"}
        async with http.put(f"{url}/v1/me/notification-preferences", headers=headers,
                            json={"email": True, "sms": False}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["sms"] is False


@pytest.mark.parametrize("until", ["0.5", "1700000000"])
async def test_a_date_time_in_the_query_is_only_an_iso_8601_string(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path, until):
    """``?until=0.5`` was read as half a second after 1970; now it names the parameter."""
    async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            url, authority, http):
        headers = authority.headers(company_id="c-1", roles=["company_admin"])
        async with http.get(f"{url}/v1/deliveries", headers=headers,
                            params={"until": until}) as r:
            body = await r.json()
            assert r.status == 422, body
            assert rules_of(body) == {"query.until": "datetime_parsing"}
        async with http.get(f"{url}/v1/deliveries", headers=headers,
                            params={"until": "2030-01-01T00:00:00Z"}) as r:
            assert r.status == 200, await r.text()


@pytest.mark.parametrize("limit", ["1.0", " 5", "1_0", "+5", "9" * 5000])
async def test_an_integer_in_the_query_is_only_a_digit_string(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path, limit):
    async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            url, authority, http):
        headers = authority.headers(company_id="c-1", roles=["company_admin"])
        async with http.get(f"{url}/v1/deliveries", headers=headers,
                            params={"limit": limit}) as r:
            body = await r.json()
            assert r.status == 422, body
            assert rules_of(body) == {"query.limit": "int_parsing"}


async def test_a_query_parameter_given_twice_is_refused(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """Which of two values counts would depend on the framework: neither does."""
    async with notifications(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            url, authority, http):
        headers = authority.headers(company_id="c-1", roles=["company_admin"])
        async with http.get(f"{url}/v1/deliveries?company_id=c-1&company_id=c-2",
                            headers=headers) as r:
            body = await r.json()
            assert r.status == 422, body
            assert rules_of(body) == {"query.company_id": "duplicate"}


async def test_a_permission_listed_twice_is_refused_naming_it(identity):
    """PATCH /v1/company/settings: phone_login_permissions is a set."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    async with http.patch(f"{url}/v1/company/settings", headers=admin.auth, json={
            "phone_login_permissions": ["own_number:read", "own_number:read"]}) as r:
        body = await r.json()
        assert r.status == 422, body
        assert body["errors"][0]["field"] == "phone_login_permissions"
        assert body["errors"][0]["rule"] == "duplicate"
        assert "own_number:read" in body["errors"][0]["message"]
    async with http.get(f"{url}/openapi.json") as r:
        schema = (await r.json())["components"]["schemas"]["CompanySettingsChange"]
    options = schema["properties"]["phone_login_permissions"]["anyOf"]
    assert any(o.get("uniqueItems") for o in options)


async def test_a_five_thousand_digit_number_is_a_422_not_a_server_error(identity):
    url, _, _, http = identity
    raw = '{"email": "a@example.com", "language": ' + "9" * 5000 + "}"
    async with http.post(f"{url}/v1/registrations", data=raw,
                         headers={"Content-Type": "application/json"}) as r:
        body = await r.json()
        assert r.status == 422, body
        assert r.content_type == "application/problem+json"
        assert body["errors"][0]["rule"] == "number_too_long"


async def _raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:] if ":" in line)}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status", [
    (b"FOO /v1/registrations HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\n", 400),
    (b"GET /health/live HTTP/1.1 trailing\r\nHost: x\r\n\r\n", 400),
])
async def test_a_request_that_is_not_http_gets_a_problem_and_a_warning_without_traceback(
        identity_process, request_bytes, status):
    got, headers, body = await _raw_exchange(identity_process.service.port, request_bytes)
    assert got == status, body
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("/problems/")
    assert "\x00" not in problem["detail"]

    def refusals() -> list[dict]:
        return [line for line in identity_process.service.log_lines()
                if line.get("event") == "malformed HTTP request refused"]

    await eventually(refusals, 10, 0.1, message="a log line for the refusal")
    assert refusals()[0]["level"] == "warning"
    text = identity_process.service.log_path.read_text()
    assert "Traceback" not in text and "Error handling request" not in text
