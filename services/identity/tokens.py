"""Signing keys (Ed25519, published as JWKS, rotated by ``kid``) and access tokens.

Every replica reads the keys from the database: tokens are signed with the newest key;
the JWKS lists every key not yet retired, so tokens signed just before a rotation still
verify. ``python -m services.identity.keys rotate`` adds a new key.

At rest a private key is encrypted with AES-256-GCM under the key-encryption key
(IDENTITY_KEY_ENCRYPTION_KEY, never in the database), its ``kid`` bound as associated data so
a ciphertext cannot be moved to another key's document: reading the database alone does not
allow forging tokens. The public key is stored in clear for the JWKS. Keys stored in clear by
earlier versions are encrypted the first time a replica loads them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import OKPAlgorithm
from pymongo.asynchronous.collection import AsyncCollection

KEK_VARIABLE = "IDENTITY_KEY_ENCRYPTION_KEY"
OLD_KEKS_VARIABLE = "IDENTITY_KEY_ENCRYPTION_KEYS_OLD"


class KeyEncryptionError(Exception):
    """A key-encryption key is malformed, or a stored signing key cannot be decrypted."""


def _kek_id(kek: bytes) -> str:
    # Names the key-encryption key a document was sealed under without revealing it.
    return hashlib.sha256(b"bap-identity-kek-id:" + kek).hexdigest()[:16]


def _decode_kek(text: str, variable: str) -> bytes:
    try:
        kek = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        kek = b""
    if len(kek) != 32:
        raise KeyEncryptionError(f"{variable} must be the base64 of 32 random bytes "
                                 f"(e.g. `openssl rand -base64 32`)")
    return kek


class KeyEncryption:
    """Seals signing keys under the current key-encryption key; older ones still open them."""

    def __init__(self, current: bytes, old: tuple[bytes, ...] = ()) -> None:
        self.current_id = _kek_id(current)
        self._keys = {_kek_id(k): AESGCM(k) for k in (*old, current)}

    @classmethod
    def from_text(cls, current: str, old: str = "") -> KeyEncryption:
        """From the settings' base64 texts (``old``: comma-separated)."""
        return cls(_decode_kek(current, KEK_VARIABLE),
                   tuple(_decode_kek(t, OLD_KEKS_VARIABLE) for t in old.split(",") if t.strip()))

    def seal(self, kid: str, secret: bytes) -> dict:
        nonce = os.urandom(12)
        sealed = self._keys[self.current_id].encrypt(nonce, secret, kid.encode())
        return {"kek_id": self.current_id, "key_nonce": base64.b64encode(nonce).decode(),
                "key_ciphertext": base64.b64encode(sealed).decode()}

    def open(self, doc: dict) -> bytes:
        aead = self._keys.get(doc.get("kek_id", ""))
        if aead is None:
            raise KeyEncryptionError(
                f"signing key {doc['_id']} is encrypted under a key-encryption key that is "
                f"neither {KEK_VARIABLE} nor in {OLD_KEKS_VARIABLE}")
        try:
            return aead.decrypt(base64.b64decode(doc["key_nonce"]),
                                base64.b64decode(doc["key_ciphertext"]), doc["_id"].encode())
        except InvalidTag:
            raise KeyEncryptionError(f"signing key {doc['_id']} does not decrypt: altered, "
                                     f"or not the document it was sealed for") from None


def _public_jwk(private: Ed25519PrivateKey) -> dict:
    return json.loads(OKPAlgorithm.to_jwk(private.public_key()))


def _sealed_document(kek: KeyEncryption, kid: str, private: Ed25519PrivateKey,
                     rest: dict) -> dict:
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {**{k: v for k, v in rest.items() if k != "private_pem"}, "_id": kid,
            "public_jwk": _public_jwk(private), **kek.seal(kid, der)}


def _new_key_document(kek: KeyEncryption) -> dict:
    return _sealed_document(kek, uuid.uuid4().hex, Ed25519PrivateKey.generate(),
                            {"status": "active", "activated": time.time(),
                             "created_at": datetime.now(UTC)})


def _private_key(kek: KeyEncryption, doc: dict) -> Ed25519PrivateKey:
    if "private_pem" in doc:  # stored in clear by an earlier version
        key = serialization.load_pem_private_key(doc["private_pem"].encode(), None)
    else:
        key = serialization.load_der_private_key(kek.open(doc), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


class SigningKeys:
    def __init__(self, collection: AsyncCollection, kek: KeyEncryption) -> None:
        self.collection = collection
        self.kek = kek
        self._signing: tuple[str, Ed25519PrivateKey] | None = None
        self._jwks: dict = {"keys": []}

    async def load(self) -> None:
        """Read the keys; the first replica ever to start creates one."""
        docs = await self.collection.find({"status": "active"}).to_list()
        if not docs:
            await self.collection.insert_one(_new_key_document(self.kek))
            docs = await self.collection.find({"status": "active"}).to_list()
        for d in docs:
            if "private_pem" in d:
                await self._seal_legacy(d)
        docs = await self.collection.find({"status": "active"}).to_list()
        docs.sort(key=lambda d: d["activated"])
        # Only the newest key signs, so only it is decrypted; the rest are public keys.
        newest = docs[-1]
        self._signing = (newest["_id"], _private_key(self.kek, newest))
        self._jwks = {"keys": [{**d["public_jwk"], "kid": d["_id"], "alg": "EdDSA",
                                "use": "sig"} for d in docs]}

    async def _seal_legacy(self, doc: dict) -> bool:
        sealed = _sealed_document(self.kek, doc["_id"], _private_key(self.kek, doc), doc)
        # Conditional: a replica doing the same at the same moment writes the same key.
        result = await self.collection.replace_one(
            {"_id": doc["_id"], "private_pem": doc["private_pem"]}, sealed)
        return result.modified_count == 1

    async def rewrap(self) -> int:
        """Encrypt every stored key (retired ones too) under the current key-encryption key;
        the number of keys rewritten."""
        changed = 0
        for doc in await self.collection.find({}).to_list():
            if "private_pem" in doc:
                changed += await self._seal_legacy(doc)
            elif doc.get("kek_id") != self.kek.current_id:
                sealed = _sealed_document(self.kek, doc["_id"], _private_key(self.kek, doc),
                                          doc)
                result = await self.collection.replace_one(
                    {"_id": doc["_id"], "kek_id": doc.get("kek_id")}, sealed)
                changed += result.modified_count
        return changed

    async def rotate(self, keep_seconds: float) -> str:
        """Add a new signing key; retire keys replaced more than ``keep_seconds`` ago."""
        doc = _new_key_document(self.kek)
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
