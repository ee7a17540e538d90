"""Verifying identity's access tokens and deciding who may call what.

Every service verifies the JWT locally against identity's JWKS (fetched once, cached, and
fetched again when a token names an unknown ``kid`` or the cache is older than
``max_age``). A handler declares what it needs with one ``Access`` value; the caller arrives
as a ``Principal`` whose ``company_id`` scopes every query the handler makes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

from shared.errors import Forbidden, Unauthenticated, Unavailable

ALGORITHMS = ["EdDSA", "ES256"]
# An unknown kid fetches the keys again, but not more often than this (random kids are cheap).
REFETCH_MIN_INTERVAL = 5.0
# Keys are fetched again after this long, so a key identity withdrew stops being trusted.
KEYS_MAX_AGE = 300.0
# Seconds of clock difference between identity and the verifying host that are tolerated.
LEEWAY = 10.0
# Tokens verified lately, kept (least recently used dropped first) so a caller's next requests
# skip the signature check: about 1.5 KB each.
VERIFIED_TOKENS = 4096
KINDS = ("user", "client")

# Roles inside a customer company.
COMPANY_ADMIN = "company_admin"
BILLING_ADMIN = "billing_admin"
USER = "user"
SUB_ADMIN = "sub_admin"

# ID-6: what a mobile-number login may reach, each only for its own number (the contracts
# whose access number it is, and the customer numbers they run under). The company
# administrator picks from these (identity's ``phone_login_permissions`` setting); the
# token carries the picked ones as ``perms`` and no role.
PHONE_CONTRACTS = "own_number:read"
PHONE_INVOICES = "own_number:invoices"
PHONE_NOTIFICATIONS = "own_number:notifications"
PHONE_LOGIN_PERMISSIONS: dict[str, str] = {
    PHONE_CONTRACTS: "the number's contract(s) and the contract space showing them (contracts)",
    PHONE_INVOICES: "invoices and online invoices of the customer number the number runs "
                    "under (billing)",
    PHONE_NOTIFICATIONS: "the account's own notification preferences (notifications)",
}
# Seed 002: the number's functions are reachable unless the administrator restricts them.
DEFAULT_PHONE_LOGIN_PERMISSIONS: tuple[str, ...] = tuple(PHONE_LOGIN_PERMISSIONS)


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
    # The user logged in with a password they must change first (claim "pcr", ID-4).
    password_change_required: bool = False
    # A mobile-number login (claim "phone", ID-6): it reaches only that number's own scope.
    phone: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_client(self) -> bool:
        return self.kind == "client"

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """The caller named by verified claims; ``Unauthenticated`` if they make no sense."""
        kind = claims.get("typ")
        if kind not in KINDS:
            raise Unauthenticated("The token is not an access token.", slug="invalid-token")
        company = claims.get("cid")
        return cls(
            subject=str(claims["sub"]),
            kind=kind,
            company_id=str(company) if company else None,
            roles=frozenset(_names(claims.get("roles"))),
            permissions=frozenset(_names(claims.get("perms"))),
            scopes=frozenset(_names(claims.get("scope"))),
            amr=tuple(_names(claims.get("amr"))),
            password_change_required=claims.get("pcr") is True,
            phone=str(claims["phone"]) if claims.get("phone") else None,
            claims=claims,
        )


def _names(value: Any) -> list[str]:
    """A claim holding names: a space-separated string (OAuth ``scope``) or a list of strings.

    A bare string is never iterated character by character."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


@dataclass(frozen=True)
class Access:
    """What a route requires. A user of a company passes with any listed role or permission
    (any user of a company when none is listed; no user when ``users=False``); an internal
    client passes only with a listed scope. ``Access()`` = any user of a company.

    A user who must change their password first is refused everywhere except where
    ``allow_pending_password_change`` says otherwise (their account and password routes).
    A mobile-number login is refused everywhere except where ``allow_phone_login`` says
    otherwise (any such login) or ``phone_permission`` names the phone-login permission the
    route needs (the login passes when its company allows it); the handler then answers
    only what belongs to that number (ID-6)."""

    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    users: bool = True
    allow_pending_password_change: bool = False
    allow_phone_login: bool = False
    phone_permission: str | None = None

    @classmethod
    def of(cls, *, roles: tuple[str, ...] = (), permissions: tuple[str, ...] = (),
           scopes: tuple[str, ...] = (), users: bool = True,
           allow_pending_password_change: bool = False,
           allow_phone_login: bool = False, phone_permission: str | None = None) -> Access:
        if phone_permission is not None and phone_permission not in PHONE_LOGIN_PERMISSIONS:
            raise ValueError(f"unknown phone-login permission {phone_permission!r}")
        return cls(frozenset(roles), frozenset(permissions), frozenset(scopes), users,
                   allow_pending_password_change, allow_phone_login, phone_permission)

    def check(self, p: Principal) -> None:
        if p.is_client:
            if not self.scopes or not (self.scopes & p.scopes):
                raise Forbidden("This client's scopes do not allow this call.")
            return
        if not self.users:
            raise Forbidden("Only internal clients may make this call.")
        if not p.company_id:
            raise Forbidden("The token belongs to no company.")
        if p.password_change_required and not self.allow_pending_password_change:
            raise Forbidden("Change your password before doing anything else.",
                            slug="password-change-required", title="Password change required")
        if p.phone is not None:
            self._check_phone_login(p)
            return
        if (self.roles or self.permissions) and not (
            (self.roles & p.roles) or (self.permissions & p.permissions)
        ):
            raise Forbidden("Your role does not allow this.",
                            required_roles=sorted(self.roles),
                            required_permissions=sorted(self.permissions))

    def _check_phone_login(self, p: Principal) -> None:
        # Decided by the phone-login rules alone: its ``perms`` are phone-login permissions,
        # never the roles or delegated permissions of the account behind the number.
        if self.allow_phone_login:
            return
        if self.phone_permission is None:
            raise Forbidden("A login with a mobile number reaches only that number's own "
                            "data. Log in with your username or email for this.",
                            slug="phone-login-scope", title="Not for a mobile-number login")
        if self.phone_permission not in p.permissions:
            raise Forbidden("Your company's administrator has not allowed this for logins "
                            "with a mobile number (user rights settings).",
                            slug="phone-login-permission",
                            title="Not allowed for a mobile-number login",
                            required_permissions=[self.phone_permission])


class TokenVerifier:
    """Verifies access tokens against a JWKS URL, caching the keys.

    The keys are fetched on first use, again when a token names an unknown ``kid`` (at most
    once per ``refetch_min_interval``) and again when older than ``max_age``.

    A token that passed is remembered with its principal until it expires (at most
    ``verified_tokens`` of them), so the same token's next requests cost a dictionary lookup
    instead of decoding and a signature check (a quarter of a read request's CPU). Only
    tokens that passed are kept, so invalid ones can not fill it; a remembered token is checked
    again in full once its key is no longer among the trusted ones or the keys are due to be
    fetched again.
    """

    def __init__(self, jwks_url: str, *, issuer: str, audience: str,
                 refetch_min_interval: float = REFETCH_MIN_INTERVAL,
                 max_age: float = KEYS_MAX_AGE, leeway: float = LEEWAY,
                 verified_tokens: int = VERIFIED_TOKENS) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.refetch_min_interval = refetch_min_interval
        self.max_age = max_age
        self.leeway = leeway
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._attempted_at = float("-inf")
        self._failing = False
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        # token → (its principal, when it expires, the kid that signed it)
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()
        self._verified_max = verified_tokens

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Trust exactly the signing keys of ``jwks`` that use an accepted algorithm."""
        keys = {}
        for k in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if not isinstance(k, dict) or not k.get("kid") or k.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(k)
            except jwt.PyJWTError:  # InvalidKeyError is not a PyJWKError: catch both
                continue
            if key.algorithm_name in ALGORITHMS:
                keys[str(k["kid"])] = key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self.max_age

    async def _refresh(self, kid: str) -> None:
        async with self._lock:
            if kid in self._keys and not self._stale():
                return  # fetched by a concurrent caller while this one waited
            if time.monotonic() - self._attempted_at < self.refetch_min_interval:
                if self._failing and kid not in self._keys:
                    raise _keys_unavailable()
                return
            self._attempted_at = time.monotonic()
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                async with self._session.get(self.jwks_url) as resp:
                    resp.raise_for_status()
                    jwks = json.loads(await resp.text())
                if not isinstance(jwks, dict):
                    raise ValueError("the JWKS is not a JSON object")
            except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                self._failing = True
                if kid in self._keys:
                    return  # identity is briefly away: the cached key is still the best answer
                raise _keys_unavailable() from e
            self._failing = False
            self.set_keys(jwks)

    async def key_for(self, kid: str) -> jwt.PyJWK:
        """The public key named ``kid``, fetching the JWKS when needed."""
        if kid not in self._keys or self._stale():
            await self._refresh(kid)
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("The token was signed with an unknown key.",
                                  slug="invalid-token") from None

    async def verify(self, token: str) -> Principal:
        """The caller an access token names; ``Unauthenticated`` if it is not valid here."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires, kid = known
            if time.time() < expires + self.leeway and kid in self._keys and not self._stale():
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]  # checked in full below: expired, or its key went
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is malformed.", slug="invalid-token") from None
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise Unauthenticated("The token's algorithm is not accepted.", slug="invalid-token")
        key = await self.key_for(header["kid"])
        try:
            # The key decides the algorithm, never the token's header.
            claims = jwt.decode(token, key=key.key, algorithms=[key.algorithm_name],
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The access token has expired.", slug="token-expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is not valid.", slug="invalid-token") from None
        principal = Principal.from_claims(claims)
        if self._verified_max > 0:
            self._verified[token] = (principal, float(claims["exp"]), header["kid"])
            if len(self._verified) > self._verified_max:
                self._verified.popitem(last=False)
        return principal


def _keys_unavailable() -> Unavailable:
    return Unavailable("The signing keys can not be fetched right now.",
                       slug="keys-unavailable", title="Signing keys unavailable")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")
    return token.strip()
