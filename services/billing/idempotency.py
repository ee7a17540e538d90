"""``Idempotency-Key`` on creating POSTs: the same key with the same request gives the stored
response (status and body) without doing anything again; the same key with another request is
refused. Keys are scoped per company: one document per company and key, holding a hash of the
request (method, path, canonical JSON body), never the body itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import Principal
from shared.errors import IdempotencyKeyReused, IdempotencyRequestInProgress, InvalidIdempotencyKey
from shared.http import json_response
from shared.mongo import is_duplicate

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


async def request_hash(request: web.Request) -> str:
    raw = await request.read()
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True,
                               separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        canonical = raw.decode("latin-1")
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


# A running first request older than this is taken to have died with its process.
ABANDONED_SECONDS = 120.0


async def idempotent(request: web.Request, principal: Principal, collection: AsyncCollection[Any],
                     run: Callable[[], Awaitable[tuple[int, Any]]]) -> web.Response:
    """Run ``run`` (returning status and body) at most once per company and key."""
    key = request.headers.get(HEADER)
    if key is None:
        status, body = await run()
        return json_response(body, status=status)
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey("Send 1 to 255 visible ASCII characters, e.g. a UUID.")
    digest = await request_hash(request)
    _id = f"{principal.company_id}:{key}"
    try:
        await collection.insert_one({"_id": _id, "company_id": principal.company_id,
                                     "request_hash": digest, "state": "running",
                                     "started": time.time(), "created_at": datetime.now(UTC)})
    except Exception as e:
        if not is_duplicate(e):
            raise
        if not await _take_over_abandoned(collection, _id, digest):
            return await _replay(collection, _id, digest)
    try:
        status, body = await run()
    except BaseException:
        # Nothing was done (or it failed): the client may retry with the same key.
        await collection.delete_one({"_id": _id, "state": "running"})
        raise
    text = json.dumps(_jsonable(body))
    await collection.update_one({"_id": _id}, {"$set": {"state": "done", "status": status,
                                                        "body": text}})
    return web.Response(status=status, text=text, content_type="application/json")


async def _take_over_abandoned(collection: AsyncCollection[Any], _id: str,
                               digest: str) -> bool:
    """A first request that died while running (its process stopped) does not hold its key
    for ever: after ``ABANDONED_SECONDS`` one retry of the same request may run it again."""
    now = time.time()
    taken = await collection.find_one_and_update(
        {"_id": _id, "state": "running", "request_hash": digest,
         "started": {"$lt": now - ABANDONED_SECONDS}},
        {"$set": {"started": now}})
    return taken is not None


async def _replay(collection: AsyncCollection[Any], _id: str, digest: str) -> web.Response:
    stored = await collection.find_one({"_id": _id})
    if stored is None:  # the first request failed and freed the key just now
        raise IdempotencyRequestInProgress("Retry the request.")
    if stored["request_hash"] != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key "
            "for a new request.")
    if stored["state"] != "done":
        raise IdempotencyRequestInProgress(
            "The first request with this Idempotency-Key is still running; retry shortly.")
    return web.Response(status=stored["status"], text=stored["body"],
                        content_type="application/json", headers={REPLAYED: "true"})


def _jsonable(body: Any) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    return to_jsonable_python(body, by_alias=True, fallback=str)
