"""Fixtures of the unit tier: real aiohttp apps on 127.0.0.1, a JWKS server, captured logs.

No database and no broker: apps are built with ``shared.http.new_app`` and served by aiohttp's
own ``TestServer``; tokens are signed with a fresh Ed25519 key whose JWKS a tiny app serves.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import jwt
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from shared.auth import TokenVerifier
from shared.logging import configure_logging

ISSUER = "bap-identity"
AUDIENCE = "bap"
COMPANY = "company-1"

Serve = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an app on a free local port and give a client for it; stopped after the test."""
    clients: list[TestClient] = []

    async def start(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


class SigningAuthority:
    """Plays identity: holds Ed25519 signing keys, serves their JWKS, signs access tokens."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = ""
        self.fetches = 0
        self.url = ""
        self.rotate()

    def rotate(self) -> str:
        """A new current key; the JWKS now lists only it (the old one is withdrawn)."""
        self.kid = uuid.uuid4().hex
        self.keys = {self.kid: Ed25519PrivateKey.generate()}
        return self.kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**json.loads(OKPAlgorithm.to_jwk(k.public_key())), "kid": kid,
                          "alg": "EdDSA", "use": "sig"} for kid, k in self.keys.items()]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "typ": "user",
                  "cid": COMPANY, "roles": ["user"], "perms": [], "amr": ["pwd"],
                  "iat": now, "exp": now + 300}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, kid: str | None = None, key: Ed25519PrivateKey | None = None,
              **claims: Any) -> str:
        """A signed access token; ``claims`` override the defaults (None removes one)."""
        kid = kid or self.kid
        key = key or self.keys[kid]
        return jwt.encode(self.claims(**claims), key, algorithm="EdDSA", headers={"kid": kid})

    def client_token(self, scopes: str, **claims: Any) -> str:
        return self.token(sub="support-desk", typ="client", cid=None, roles=None, amr=None,
                          scope=scopes, **claims)

    def app(self) -> web.Application:
        async def jwks(_request: web.Request) -> web.Response:
            self.fetches += 1
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", jwks)
        return app


@pytest.fixture
async def authority(serve: Serve) -> SigningAuthority:
    """identity's signing keys, with the JWKS served over HTTP on 127.0.0.1."""
    authority = SigningAuthority()
    client = await serve(authority.app())
    authority.url = str(client.make_url("/.well-known/jwks.json"))
    return authority


@pytest.fixture
async def verifier(authority: SigningAuthority) -> AsyncIterator[TokenVerifier]:
    """A verifier of the authority's tokens that may fetch the keys again at once."""
    verifier = TokenVerifier(authority.url, issuer=ISSUER, audience=AUDIENCE,
                             refetch_min_interval=0)
    yield verifier
    await verifier.close()


def dangling_refs(document: dict[str, Any]) -> list[str]:
    """Every local ``$ref`` in ``document`` whose JSON pointer leads nowhere."""
    def resolves(ref: str) -> bool:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return False
        return True

    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs, "the document holds no $ref at all: the walk would prove nothing"
    return [ref for ref in refs if not ref.startswith("#/") or not resolves(ref)]


@pytest.fixture
def unresolved_refs() -> Callable[[dict[str, Any]], list[str]]:
    """Walks a whole OpenAPI or AsyncAPI document and lists the ``$ref``s that do not resolve."""
    return dangling_refs


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``node``'s ``$ref`` (if any) inside ``document``."""
    seen: set[str] = set()
    while "$ref" in node:
        assert node["$ref"] not in seen, f"$ref cycle through {node['$ref']}"
        seen.add(node["$ref"])
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture
def follow() -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    """Follows a ``$ref`` inside a document (for asserting on what it points at)."""
    return resolve


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Configure the service's logging into a buffer; the function parses every line as JSON.

    Logging is global: the previous structlog and root-logger set-up is restored afterwards.
    """
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("unit-test", "INFO", "json", stream=stream)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)
