"""The kit's Idempotency-Key: a repeated request replays the stored answer, headers included;
another request under the key is refused; keys are per company and taken whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.auth import Principal, TokenVerifier
from shared.http import new_app
from shared.idempotency import Answer, idempotent
from shared.metrics import Metrics

pytestmark = pytest.mark.integration


@asynccontextmanager
async def things_api(db: Any) -> AsyncIterator[tuple[TestClient, list[str]]]:
    """POST /things?company=… creates a thing under the kit's Idempotency-Key."""
    made: list[str] = []

    async def create(request: web.Request) -> web.Response:
        principal = Principal(subject="u-1", kind="user", company_id=request.query["company"])

        async def run() -> Answer:
            made.append(f"t-{len(made) + 1}")
            return Answer(201, {"id": made[-1]}, {"Location": f"/things/{made[-1]}"})

        return await idempotent(request, principal, db["idempotency_keys"], run)

    verifier = TokenVerifier("http://127.0.0.1:9/jwks.json", issuer="i", audience="a")
    app = new_app(metrics=Metrics("things"), verifier=verifier, max_body_bytes=1024,
                  title="Things")
    app.router.add_post("/things", create)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, made
    finally:
        await client.close()


async def test_a_repeated_request_replays_status_body_and_location_without_running_again(db):
    async with things_api(db) as (client, made):
        key = "k-" + "x" * 250  # the whole key counts, up to 255 characters
        first = await client.post("/things?company=c-1", json={"a": 1},
                                  headers={"Idempotency-Key": key})
        again = await client.post("/things?company=c-1", json={"a": 1},
                                  headers={"Idempotency-Key": key})
        assert first.status == again.status == 201
        assert await first.json() == await again.json() == {"id": "t-1"}
        assert first.headers["Location"] == again.headers["Location"] == "/things/t-1"
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert made == ["t-1"]


async def test_another_request_under_the_key_is_422_and_keys_differ_past_100_characters(db):
    async with things_api(db) as (client, made):
        key = "k" * 120
        await client.post("/things?company=c-1", json={"a": 1}, headers={"Idempotency-Key": key})
        other = await client.post("/things?company=c-1", json={"a": 2},
                                  headers={"Idempotency-Key": key})
        assert other.status == 422
        assert (await other.json())["type"] == "/problems/idempotency-key-reused"
        longer = await client.post("/things?company=c-1", json={"a": 2},
                                   headers={"Idempotency-Key": key + "y"})
        assert longer.status == 201
        assert made == ["t-1", "t-2"]


async def test_keys_are_per_company_and_a_request_without_one_always_runs(db):
    async with things_api(db) as (client, made):
        for company in ("c-1", "c-2"):
            r = await client.post(f"/things?company={company}", json={},
                                  headers={"Idempotency-Key": "same"})
            assert r.status == 201 and "Idempotent-Replayed" not in r.headers
        for _ in range(2):
            r = await client.post("/things?company=c-1", json={})
            assert r.status == 201 and r.headers["Location"] == f"/things/{made[-1]}"
        assert made == ["t-1", "t-2", "t-3", "t-4"]


async def test_a_key_that_is_not_visible_ascii_is_a_400(db):
    async with things_api(db) as (client, made):
        r = await client.post("/things?company=c-1", json={},
                              headers={"Idempotency-Key": "with space"})
        assert r.status == 400
        assert (await r.json())["type"] == "/problems/invalid-idempotency-key"
        assert made == []
