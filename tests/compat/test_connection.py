"""Connecting with the platform kit's client settings."""

from __future__ import annotations

import pytest
from pymongo import AsyncMongoClient

from shared import mongo

pytestmark = pytest.mark.compat


async def test_connect_and_ping_answers(mongo_url: str, unique: str) -> None:
    client = mongo.connect(mongo_url)
    try:
        db = client[f"test_{unique}"]
        assert await mongo.ping(db) is True
        reply = await db.command("ping")
        assert reply["ok"] == 1
    finally:
        await client.close()


async def test_ping_reports_false_when_server_is_unreachable() -> None:
    client = AsyncMongoClient("mongodb://127.0.0.1:9", serverSelectionTimeoutMS=300,
                                    connectTimeoutMS=300)
    try:
        assert await mongo.ping(client["nothing"]) is False
    finally:
        await client.close()


async def test_client_returns_tz_aware_datetimes(db) -> None:
    from datetime import UTC, datetime

    await db["c"].insert_one({"_id": 1, "at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)})
    doc = await db["c"].find_one({"_id": 1})
    assert doc["at"].tzinfo is not None
    assert doc["at"].utcoffset().total_seconds() == 0
