"""Verifying identity's access tokens and deciding who may call what.

Every service verifies the JWT locally against identity's JWKS (fetched once, cached, and
fetched again when a token names an unknown ``kid``). A handler declares what it needs with
one ``Access`` value; the caller arrives as a ``Principal`` whose ``company_id`` scopes
every query the handler makes.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

from shared.errors import Forbidden, Unauthenticated

ALGORITHMS = ["EdDSA", "ES256"]
REFETCH_MIN_INTERVAL = 5.0

# Roles inside a customer company.
COMPANY_ADMIN = "company_admin"
BILLING_ADMIN = "billing_admin"
USER = "user"
SUB_ADMIN = "sub_admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user of one company, or an internal client with scopes."""

    subject: str
    kind: str  # "user" or "client"
    company_id: str | None = None
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    amr: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_client(self) -> bool:
        return self.kind == "client"

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        return cls(
            subject=str(claims["sub"]),
            kind=claims.get("typ", "user"),
            company_id=claims.get("cid"),
            roles=frozenset(claims.get("roles", [])),
            permissions=frozenset(claims.get("perms", [])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            amr=tuple(claims.get("amr", [])),
            claims=claims,
        )


@dataclass(frozen=True)
class Access:
    """What a route requires. A user passes with any listed role or permission; an internal
    client passes with any listed scope. ``Access()`` = any authenticated caller."""

    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    users: bool = True

    @classmethod
    def of(cls, *, roles: tuple[str, ...] = (), permissions: tuple[str, ...] = (),
           scopes: tuple[str, ...] = (), users: bool = True) -> Access:
        return cls(frozenset(roles), frozenset(permissions), frozenset(scopes), users)

    def check(self, p: Principal) -> None:
        if p.is_client:
            if not self.scopes or not (self.scopes & p.scopes):
                raise Forbidden("This client's scopes do not allow this call.")
            return
        if not self.users:
            raise Forbidden("Only internal clients may make this call.")
        if p.company_id is None:
            raise Forbidden("The token belongs to no company.")
        if (self.roles or self.permissions) and not (
            (self.roles & p.roles) or (self.permissions & p.permissions)
        ):
            raise Forbidden("Your role does not allow this.",
                            required_roles=sorted(self.roles),
                            required_permissions=sorted(self.permissions))


class TokenVerifier:
    """Verifies access tokens against a JWKS URL, caching the keys."""

    def __init__(self, jwks_url: str, *, issuer: str, audience: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def set_keys(self, jwks: dict[str, Any]) -> None:
        keys = {}
        for k in jwks.get("keys", []):
            try:
                keys[k["kid"]] = jwt.PyJWK(k)
            except (KeyError, jwt.PyJWKError):
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            if not force and self._keys:
                return
            if time.monotonic() - self._fetched_at < REFETCH_MIN_INTERVAL and self._keys:
                return
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                async with self._session.get(self.jwks_url) as resp:
                    resp.raise_for_status()
                    self.set_keys(json.loads(await resp.text()))
            except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                raise Unauthenticated("The signing keys can not be fetched right now.",
                                      status=503, slug="keys-unavailable") from e

    async def key_for(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self._refresh(force=bool(self._keys))
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("The token was signed with an unknown key.",
                                  slug="invalid-token") from None

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is malformed.", slug="invalid-token") from None
        if header.get("alg") not in ALGORITHMS or not header.get("kid"):
            raise Unauthenticated("The token's algorithm is not accepted.", slug="invalid-token")
        key = await self.key_for(str(header["kid"]))
        try:
            claims = jwt.decode(token, key=key.key, algorithms=[key.algorithm_name],
                                audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The access token has expired.", slug="token-expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is not valid.", slug="invalid-token") from None
        return Principal.from_claims(claims)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")
    return token.strip()
