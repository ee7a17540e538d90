"""The one token authority of the tests: identity's side of access tokens, for tests of the
code that verifies them — Ed25519 signing keys, their JWKS served over HTTP on 127.0.0.1, and
signed access tokens.

    async with TokenAuthority.serving() as authority:
        settings = settings.model_copy(update={"jwks_url": authority.jwks_url})
        headers = authority.headers(company_id="c-1", roles=["company_admin"])

(The unit tier's ``authority`` fixture serves one for a test.)
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ISSUER = "bap-identity"
AUDIENCE = "bap"
COMPANY = "company-1"
JWKS_PATH = "/.well-known/jwks.json"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


class TokenAuthority:
    """Plays identity: holds Ed25519 signing keys, serves their JWKS, signs access tokens."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = ""
        self.fetches = 0  # how often the JWKS was asked for
        self.jwks_url = ""  # set once it is served
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
        """A user access token's claims; ``overrides`` replace defaults (None removes one)."""
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "typ": "user",
                  "cid": COMPANY, "roles": ["user"], "perms": [], "amr": ["pwd"],
                  "iat": now, "exp": now + 600}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, kid: str | None = None, key: Ed25519PrivateKey | None = None,
              **claims: Any) -> str:
        """A signed access token; ``claims`` override the defaults (None removes one).
        ``key`` signs with another key under the current (or the given) ``kid``."""
        kid = kid or self.kid
        key = key or self.keys[kid]
        return jwt.encode(self.claims(**claims), key, algorithm="EdDSA", headers={"kid": kid})

    def client_token(self, scopes: str, **claims: Any) -> str:
        """A client-credentials token (a support desk) with ``scopes``."""
        return self.token(sub="support-desk", typ="client", cid=None, roles=None, amr=None,
                          scope=scopes, **claims)

    def headers(self, *, company_id: str, roles: Sequence[str] = (),
                perms: Sequence[str] = (), sub: str | None = None, **claims: Any
                ) -> dict[str, str]:
        """The Authorization header of a user of ``company_id`` (a user of their own unless
        ``sub`` names one)."""
        return bearer(self.token(sub=sub or f"user-{uuid.uuid4().hex[:8]}", cid=company_id,
                                 roles=list(roles), perms=list(perms), **claims))

    def app(self) -> web.Application:
        """The JWKS endpoint as an app, counting its fetches."""
        async def jwks(_request: web.Request) -> web.Response:
            self.fetches += 1
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get(JWKS_PATH, jwks)
        return app

    @classmethod
    @contextlib.asynccontextmanager
    async def serving(cls) -> AsyncIterator[TokenAuthority]:
        """An authority whose JWKS is served on a free local port while the block runs."""
        authority = cls()
        server = TestServer(authority.app(), host="127.0.0.1")
        await server.start_server()
        authority.jwks_url = str(server.make_url(JWKS_PATH))
        try:
            yield authority
        finally:
            await server.close()
