"""The token signing keys' documents (``signing_keys``): each key sealed under the
key-encryption key (tokens.py builds and opens them), active until rotated out."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

KeyDocument = dict[str, Any]


class SigningKeyDocuments:
    def __init__(self, collection: AsyncCollection[KeyDocument]) -> None:
        self._keys = collection

    async def active(self) -> list[KeyDocument]:
        """The keys tokens may be signed or checked with, oldest first."""
        docs = await self._keys.find({"status": "active"}).to_list()
        return sorted(docs, key=lambda d: d["activated"])

    async def every(self) -> list[KeyDocument]:
        """Every key, retired ones too."""
        return await self._keys.find({}).to_list()

    async def add(self, doc: KeyDocument) -> None:
        await self._keys.insert_one(doc)

    async def replace_if(self, condition: dict[str, Any], doc: KeyDocument) -> bool:
        """Replace the key if it still matches ``condition`` (a replica doing the same at the
        same moment writes the same key): whether this call replaced it."""
        result = await self._keys.replace_one({"_id": doc["_id"], **condition}, doc)
        return result.modified_count == 1

    async def retire(self, kid: str) -> None:
        await self._keys.update_one({"_id": kid}, {"$set": {"status": "retired"}})
