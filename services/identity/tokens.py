"""Signing keys (Ed25519, published as JWKS) and the access tokens signed with them."""

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

from shared.mongo import is_duplicate


class SigningKeys:
    """The current signing key, shared by every replica through the database."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection
        self._private: Ed25519PrivateKey | None = None
        self.kid = ""
        self._jwks: dict = {"keys": []}

    async def load(self) -> None:
        """Use the current key, creating it if this is the first replica ever to start."""
        doc = await self.collection.find_one({"_id": "current"})
        if doc is None:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            candidate = {"_id": "current", "kid": uuid.uuid4().hex, "private_pem": pem,
                         "created_at": datetime.now(UTC)}
            try:
                await self.collection.insert_one(candidate)
                doc = candidate
            except Exception as e:
                if not is_duplicate(e):
                    raise
                doc = await self.collection.find_one({"_id": "current"})
        assert doc is not None
        self._private = serialization.load_pem_private_key(doc["private_pem"].encode(), None)
        self.kid = doc["kid"]
        jwk = json.loads(OKPAlgorithm.to_jwk(self._private.public_key()))
        self._jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def jwks(self) -> dict:
        return self._jwks

    def sign(self, claims: dict) -> str:
        assert self._private is not None, "keys not loaded"
        return jwt.encode(claims, self._private, algorithm="EdDSA", headers={"kid": self.kid})


def access_token(keys: SigningKeys, *, issuer: str, audience: str, subject: str,
                 company_id: str, roles: list[str], permissions: list[str], amr: list[str],
                 lifetime: int) -> str:
    now = int(time.time())
    return keys.sign({
        "iss": issuer, "aud": audience, "sub": subject, "typ": "user", "cid": company_id,
        "roles": roles, "perms": permissions, "amr": amr, "iat": now, "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    })
