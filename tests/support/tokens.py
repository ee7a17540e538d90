"""identity's side of access tokens, for tests of the services that verify them: an Ed25519
signing key, its JWKS served over HTTP on 127.0.0.1, and signed access tokens.

    async with TokenAuthority.serving() as authority:
        settings.jwks_url = authority.jwks_url
        token = authority.token(company_id="c-1", roles=["company_admin"])
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ISSUER = "bap-identity"
AUDIENCE = "bap"


class TokenAuthority:
    """Plays identity: one Ed25519 key, its JWKS, and access tokens signed with it."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.key = Ed25519PrivateKey.generate()
        self.jwks_url = ""

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**json.loads(OKPAlgorithm.to_jwk(self.key.public_key())),
                          "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def token(self, *, company_id: str | None, roles: list[str] = (), perms: list[str] = (),
              sub: str | None = None, amr: list[str] = ("pwd",), lifetime: int = 600,
              **claims: Any) -> str:
        """A signed user access token; ``claims`` add to or override the defaults."""
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub or f"user-{uuid.uuid4().hex[:8]}",
                "typ": "user", "cid": company_id, "roles": list(roles), "perms": list(perms),
                "amr": list(amr), "iat": now, "exp": now + lifetime, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kw)}"}

    @classmethod
    @contextlib.asynccontextmanager
    async def serving(cls) -> AsyncIterator[TokenAuthority]:
        """An authority whose JWKS is served on a free local port while the block runs."""
        authority = cls()

        async def jwks(_request: web.Request) -> web.Response:
            return web.json_response(authority.jwks())

        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", jwks)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        authority.jwks_url = str(server.make_url("/.well-known/jwks.json"))
        try:
            yield authority
        finally:
            await server.close()
