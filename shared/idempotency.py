"""``Idempotency-Key`` on creating requests: the one implementation of the platform.

The same key with the same request gives the stored answer (status, body and the headers the
first answer named, e.g. ``Location``) with ``Idempotent-Replayed: true``, without doing
anything again; the same key with another request is refused (422
``idempotency-key-reused``); while the first request still runs, another one with its key is
a 409 ``idempotency-request-in-progress``. A first request that died with its process frees
its key after ``ABANDONED_SECONDS`` for one retry of the same request.

The key is taken whole (1 to 255 visible ASCII characters, else 400
``invalid-idempotency-key``) and scoped per company: one document per company and key in the
service's collection, holding a hash of the request (method, path, canonical JSON body),
never the body itself.

A route declares ``idempotent=True`` (the OpenAPI document then describes the header and the
replay) and wraps its use case::

    @routes.post("/v1/things", body=NewThing, response=Thing, status=201,
                 access=..., idempotent=True, location=True, problems=(409, 422))
    async def create_thing(request, body: NewThing, principal: Principal) -> web.Response:
        async def run() -> Answer:
            thing = await handlers.create_thing(unit(request.app, Things), body, principal)
            return Answer(201, thing, {"Location": f"/v1/things/{thing.id}"})
        return await idempotent(request, principal, store.idempotency, run)

The store owns the collection and applies ``INDEXES`` to it. A use case that must not run
twice without a key either can still derive its ids from the key, as before; the stored
answer makes that unnecessary with one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import Principal
from shared.errors import IdempotencyKeyReused, IdempotencyRequestInProgress
from shared.http import json_response
from shared.mongo import Index, is_duplicate
from shared.parsing import IDEMPOTENCY_HEADER, idempotency_key

__all__ = ["ABANDONED_SECONDS", "HEADER", "INDEXES", "REPLAYED", "Answer", "idempotent",
           "request_hash"]

HEADER = IDEMPOTENCY_HEADER
REPLAYED = "Idempotent-Replayed"
# A running first request older than this is taken to have died with its process.
ABANDONED_SECONDS = 120.0
# What the store applies to the collection it passes to ``idempotent``.
INDEXES = [Index.on("created_at")]


@dataclass(frozen=True)
class Answer:
    """What a use case run under a key answers: stored, and replayed as it was."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


async def request_hash(request: web.Request) -> str:
    """The request's fingerprint: method, path and the body as canonical JSON."""
    raw = await request.read()
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True,
                               separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        canonical = raw.decode("latin-1")
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


async def idempotent(request: web.Request, principal: Principal,
                     collection: AsyncCollection[Any],
                     run: Callable[[], Awaitable[Answer | tuple[int, Any]]]) -> web.Response:
    """Run ``run`` at most once per company and ``Idempotency-Key``; without the header, run
    it. ``run`` answers an ``Answer`` (or a ``(status, body)`` pair)."""
    key = idempotency_key(request.headers)
    if key is None:
        answer = _answer(await run())
        return json_response(answer.body, status=answer.status,
                             headers=dict(answer.headers) or None)
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
        answer = _answer(await run())
    except BaseException:
        # Nothing was done (or it failed): the client may retry with the same key.
        await collection.delete_one({"_id": _id, "state": "running"})
        raise
    text = json.dumps(_jsonable(answer.body))
    stored: dict[str, Any] = {"state": "done", "status": answer.status, "body": text}
    if answer.headers:
        stored["headers"] = dict(answer.headers)
    await collection.update_one({"_id": _id}, {"$set": stored})
    return web.Response(status=answer.status, text=text, content_type="application/json",
                        headers=dict(answer.headers) or None)


def _answer(result: Answer | tuple[int, Any]) -> Answer:
    return result if isinstance(result, Answer) else Answer(result[0], result[1])


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
                        content_type="application/json",
                        headers={**stored.get("headers", {}), REPLAYED: "true"})


def _jsonable(body: Any) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    return to_jsonable_python(body, by_alias=True, fallback=str)
