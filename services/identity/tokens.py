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
import itertools
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import OKPAlgorithm
from pymongo.asynchronous.collection import AsyncCollection

from services.identity.store.signing_keys import KeyDocument, SigningKeyDocuments

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

    def seal(self, kid: str, secret: bytes) -> KeyDocument:
        nonce = os.urandom(12)
        sealed = self._keys[self.current_id].encrypt(nonce, secret, kid.encode())
        return {"kek_id": self.current_id, "key_nonce": base64.b64encode(nonce).decode(),
                "key_ciphertext": base64.b64encode(sealed).decode()}

    def open(self, doc: KeyDocument) -> bytes:
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


def _public_jwk(private: Ed25519PrivateKey) -> dict[str, str]:
    jwk: dict[str, str] = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    return jwk


def _sealed_document(kek: KeyEncryption, kid: str, private: Ed25519PrivateKey,
                     rest: KeyDocument) -> KeyDocument:
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {**{k: v for k, v in rest.items() if k != "private_pem"}, "_id": kid,
            "public_jwk": _public_jwk(private), **kek.seal(kid, der)}


def _new_key_document(kek: KeyEncryption) -> KeyDocument:
    return _sealed_document(kek, uuid.uuid4().hex, Ed25519PrivateKey.generate(),
                            {"status": "active", "activated": time.time(),
                             "created_at": datetime.now(UTC)})


def _private_key(kek: KeyEncryption, doc: KeyDocument) -> Ed25519PrivateKey:
    if "private_pem" in doc:  # stored in clear by an earlier version
        key = serialization.load_pem_private_key(doc["private_pem"].encode(), None)
    else:
        key = serialization.load_der_private_key(kek.open(doc), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"signing key {doc['_id']} is not an Ed25519 key")
    return key


class SigningKeys:
    def __init__(self, collection: AsyncCollection[KeyDocument], kek: KeyEncryption) -> None:
        self._documents = SigningKeyDocuments(collection)
        self.kek = kek
        self._signing: tuple[str, Ed25519PrivateKey] | None = None
        self._jwks: dict[str, Any] = {"keys": []}

    async def load(self) -> None:
        """Read the keys; the first replica ever to start creates one."""
        docs = await self._documents.active()
        if not docs:
            await self._documents.add(_new_key_document(self.kek))
            docs = await self._documents.active()
        for d in docs:
            if "private_pem" in d:
                await self._seal_legacy(d)
        docs = await self._documents.active()
        # Only the newest key signs, so only it is decrypted; the rest are public keys.
        newest = docs[-1]
        self._signing = (newest["_id"], _private_key(self.kek, newest))
        self._jwks = {"keys": [{**d["public_jwk"], "kid": d["_id"], "alg": "EdDSA",
                                "use": "sig"} for d in docs]}

    async def _seal_legacy(self, doc: KeyDocument) -> bool:
        sealed = _sealed_document(self.kek, doc["_id"], _private_key(self.kek, doc), doc)
        return await self._documents.replace_if({"private_pem": doc["private_pem"]}, sealed)

    async def rewrap(self) -> int:
        """Encrypt every stored key (retired ones too) under the current key-encryption key;
        the number of keys rewritten."""
        changed = 0
        for doc in await self._documents.every():
            if "private_pem" in doc:
                changed += await self._seal_legacy(doc)
            elif doc.get("kek_id") != self.kek.current_id:
                sealed = _sealed_document(self.kek, doc["_id"], _private_key(self.kek, doc),
                                          doc)
                changed += await self._documents.replace_if({"kek_id": doc.get("kek_id")},
                                                            sealed)
        return changed

    async def rotate(self, keep_seconds: float) -> str:
        """Add a new signing key; retire keys replaced more than ``keep_seconds`` ago."""
        doc = _new_key_document(self.kek)
        await self._documents.add(doc)
        active = await self._documents.active()
        for older, newer in itertools.pairwise(active):
            if newer["activated"] < time.time() - keep_seconds:
                await self._documents.retire(older["_id"])
        await self.load()
        return str(doc["_id"])

    @property
    def kid(self) -> str:
        assert self._signing is not None, "keys not loaded"
        return self._signing[0]

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def sign(self, claims: dict[str, Any]) -> str:
        assert self._signing is not None, "keys not loaded"
        kid, private = self._signing
        return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid})


def access_token(keys: SigningKeys, *, issuer: str, audience: str, subject: str,
                 lifetime: int, **claims: Any) -> str:
    now = int(time.time())
    return keys.sign({"iss": issuer, "aud": audience, "sub": subject, "iat": now,
                      "exp": now + lifetime, "jti": uuid.uuid4().hex, **claims})
