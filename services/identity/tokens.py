"""Signing keys (Ed25519, published as JWKS, rotated by ``kid``) and access tokens.

Every replica reads the keys from the database: tokens are signed with the newest key;
the JWKS lists every key not yet retired, so tokens signed just before a rotation still
verify. ``python -m services.identity.keys rotate`` adds a new key.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from pymongo.asynchronous.collection import AsyncCollection


def _new_key_document() -> dict:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"_id": uuid.uuid4().hex, "private_pem": pem, "status": "active",
            "activated": time.time(), "created_at": datetime.now(UTC)}


class SigningKeys:
    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection
        self._signing: tuple[str, Ed25519PrivateKey] | None = None
        self._jwks: dict = {"keys": []}

    async def load(self) -> None:
        """Read the keys; the first replica ever to start creates one."""
        docs = await self.collection.find({"status": "active"}).to_list()
        if not docs:
            await self.collection.insert_one(_new_key_document())
            docs = await self.collection.find({"status": "active"}).to_list()
        docs.sort(key=lambda d: d["activated"])
        keys = []
        for d in docs:
            private = serialization.load_pem_private_key(d["private_pem"].encode(), None)
            jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": d["_id"], "alg": "EdDSA", "use": "sig"})
            self._signing = (d["_id"], private)
        self._jwks = {"keys": keys}

    async def rotate(self, keep_seconds: float) -> str:
        """Add a new signing key; retire keys replaced more than ``keep_seconds`` ago."""
        doc = _new_key_document()
        await self.collection.insert_one(doc)
        active = await self.collection.find({"status": "active"}).to_list()
        active.sort(key=lambda d: d["activated"])
        for older, newer in zip(active, active[1:]):
            if newer["activated"] < time.time() - keep_seconds:
                await self.collection.update_one({"_id": older["_id"]},
                                                 {"$set": {"status": "retired"}})
        await self.load()
        return doc["_id"]

    @property
    def kid(self) -> str:
        assert self._signing is not None, "keys not loaded"
        return self._signing[0]

    def jwks(self) -> dict:
        return self._jwks

    def sign(self, claims: dict) -> str:
        assert self._signing is not None, "keys not loaded"
        kid, private = self._signing
        return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid})


def access_token(keys: SigningKeys, *, issuer: str, audience: str, subject: str,
                 lifetime: int, **claims) -> str:
    now = int(time.time())
    return keys.sign({"iss": issuer, "aud": audience, "sub": subject, "iat": now,
                      "exp": now + lifetime, "jti": uuid.uuid4().hex, **claims})
