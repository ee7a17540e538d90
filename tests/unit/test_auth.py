"""Verifying identity's access tokens against its JWKS, and deciding who may call what."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import (
    BILLING_ADMIN,
    COMPANY_ADMIN,
    USER,
    Access,
    Principal,
    TokenVerifier,
)
from shared.errors import Forbidden, Unauthenticated, Unavailable
from shared.http import add_routes, new_app, status_of
from shared.metrics import Metrics
from tests.support.http_apps import ADMINS
from tests.support.http_apps import account_routes as routes

pytestmark = pytest.mark.unit

# What identity puts in every access token by default (see tests/unit/conftest.py).
ISSUER, AUDIENCE, COMPANY = "bap-identity", "bap", "company-1"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def refused(verifier: TokenVerifier, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    assert status_of(caught.value) == 401
    return caught.value


# --- the verifier ----------------------------------------------------------------------------

async def test_valid_token_names_the_caller_with_company_roles_and_auth_methods(
        authority, verifier):
    token = authority.token(sub="user-7", roles=[COMPANY_ADMIN, USER], perms=["invoices:read"],
                            amr=["pwd", "sms"])
    principal = await verifier.verify(token)
    assert principal.subject == "user-7"
    assert principal.kind == "user" and not principal.is_client
    assert principal.company_id == COMPANY
    assert principal.roles == {COMPANY_ADMIN, USER}
    assert principal.permissions == {"invoices:read"}
    assert principal.amr == ("pwd", "sms")


async def test_client_token_carries_its_space_separated_scopes(authority, verifier):
    principal = await verifier.verify(authority.client_token("billing:read contracts:read"))
    assert principal.is_client
    assert principal.scopes == {"billing:read", "contracts:read"}
    assert principal.company_id is None


async def test_expired_token_is_refused_as_expired(authority, verifier):
    past = int(time.time()) - 3600
    problem = await refused(verifier, authority.token(iat=past - 300, exp=past))
    assert problem.slug == "token-expired"


async def test_token_with_tampered_payload_is_refused(authority, verifier):
    header, _payload, signature = authority.token(roles=[USER]).split(".")
    forged = b64(authority.claims(roles=[COMPANY_ADMIN]))
    problem = await refused(verifier, f"{header}.{forged}.{signature}")
    assert problem.slug == "invalid-token"


async def test_unsigned_alg_none_token_is_refused(authority, verifier):
    header = b64({"alg": "none", "typ": "JWT", "kid": authority.kid})
    token = f"{header}.{b64(authority.claims(roles=[COMPANY_ADMIN]))}."
    problem = await refused(verifier, token)
    assert problem.slug == "invalid-token"


async def test_hs256_token_signed_with_the_public_key_is_refused(authority, verifier):
    public = authority.keys[authority.kid].public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    header = b64({"alg": "HS256", "typ": "JWT", "kid": authority.kid})
    payload = b64(authority.claims(roles=[COMPANY_ADMIN]))
    # Signed by hand: PyJWT itself refuses to use key material as an HMAC secret.
    signature = base64.urlsafe_b64encode(hmac.new(
        public, f"{header}.{payload}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    await refused(verifier, f"{header}.{payload}.{signature}")


async def test_token_signed_by_a_key_identity_never_published_is_refused(authority, verifier):
    stranger = Ed25519PrivateKey.generate()
    problem = await refused(verifier, authority.token(kid="not-published", key=stranger))
    assert problem.slug == "invalid-token"


async def test_token_with_the_right_kid_but_another_key_is_refused(authority, verifier):
    problem = await refused(verifier, authority.token(key=Ed25519PrivateKey.generate()))
    assert problem.slug == "invalid-token"


async def test_keys_are_fetched_once_for_tokens_of_a_known_key(authority, verifier):
    await verifier.verify(authority.token())
    await verifier.verify(authority.token(sub="user-2"))
    assert authority.fetches == 1


async def test_key_rotated_in_later_is_fetched_when_a_token_names_it(authority, verifier):
    await verifier.verify(authority.token())
    authority.rotate()
    principal = await verifier.verify(authority.token(sub="after-rotation"))
    assert principal.subject == "after-rotation"
    assert authority.fetches == 2
    await verifier.verify(authority.token(sub="again"))
    assert authority.fetches == 2


async def test_tokens_naming_random_kids_do_not_make_the_verifier_hammer_the_jwks(authority):
    verifier = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE,
                             refetch_min_interval=60)
    try:
        await verifier.verify(authority.token())
        for n in range(5):
            await refused(verifier, authority.token(kid=f"random-{n}",
                                                    key=Ed25519PrivateKey.generate()))
        assert authority.fetches == 1
    finally:
        await verifier.close()


async def test_key_withdrawn_from_the_jwks_stops_being_trusted_once_the_cache_is_old(
        authority):
    verifier = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE,
                             refetch_min_interval=0, max_age=0)
    try:
        old_token = authority.token()
        await verifier.verify(old_token)
        authority.rotate()  # identity withdraws the old key
        problem = await refused(verifier, old_token)
        assert problem.slug == "invalid-token"
        assert authority.fetches == 2
    finally:
        await verifier.close()


async def test_a_malformed_key_in_the_jwks_does_not_hide_the_good_one(authority, verifier):
    good = authority.jwks()
    verifier.set_keys({"keys": [{"kid": "broken", "kty": "RSA"}, {"kty": "OKP"}, *good["keys"]]})
    principal = await verifier.verify(authority.token())
    assert principal.subject == "user-1"
    assert authority.fetches == 0


async def test_unreachable_jwks_is_a_503_problem(authority):
    verifier = TokenVerifier("http://127.0.0.1:9/.well-known/jwks.json", issuer=ISSUER,
                             audience=AUDIENCE)
    try:
        for _ in range(2):  # the second, within the refetch interval, must not say 401
            with pytest.raises(Unavailable) as caught:
                await verifier.verify(authority.token())
            assert status_of(caught.value) == 503
            assert caught.value.slug == "keys-unavailable"
    finally:
        await verifier.close()


@pytest.mark.parametrize("claim", [{"aud": "another-platform"}, {"iss": "someone-else"}])
async def test_token_for_another_audience_or_from_another_issuer_is_refused(
        authority, verifier, claim):
    problem = await refused(verifier, authority.token(**claim))
    assert problem.slug == "invalid-token"


async def test_token_that_is_not_an_access_token_is_refused(authority, verifier):
    await refused(verifier, authority.token(typ="refresh"))


async def test_token_issued_a_few_seconds_in_the_future_survives_clock_skew(
        authority, verifier):
    now = int(time.time())
    principal = await verifier.verify(authority.token(iat=now + 3, exp=now + 300))
    assert principal.subject == "user-1"


async def test_garbage_is_refused_as_malformed(verifier):
    problem = await refused(verifier, "not-a-jwt")
    assert problem.slug == "invalid-token"


# --- Access.check ----------------------------------------------------------------------------

def user(*roles: str, perms: tuple[str, ...] = (), company: str | None = COMPANY) -> Principal:
    return Principal(subject="user-1", kind="user", company_id=company,
                     roles=frozenset(roles), permissions=frozenset(perms))


def client(*scopes: str) -> Principal:
    return Principal(subject="support-desk", kind="client", scopes=frozenset(scopes))


def test_user_without_a_listed_role_is_forbidden():
    with pytest.raises(Forbidden) as caught:
        ADMINS.check(user(USER))
    assert caught.value.extra["required_roles"] == [BILLING_ADMIN, COMPANY_ADMIN]


def test_user_with_a_listed_role_passes():
    ADMINS.check(user(USER, BILLING_ADMIN))


def test_user_with_a_listed_permission_passes():
    ADMINS.check(user(USER, perms=("billing:manage",)))


def test_client_with_a_listed_scope_passes():
    ADMINS.check(client("contracts:read", "billing:read"))


def test_client_without_a_listed_scope_is_forbidden():
    with pytest.raises(Forbidden):
        ADMINS.check(client("contracts:read"))


def test_client_is_forbidden_where_no_scope_is_listed():
    with pytest.raises(Forbidden):
        Access().check(client("billing:read"))


def test_route_for_clients_only_refuses_users():
    with pytest.raises(Forbidden):
        Access.of(scopes=("billing:read",), users=False).check(user(COMPANY_ADMIN))


def test_user_token_without_a_company_is_refused():
    for company in (None, ""):
        with pytest.raises(Forbidden):
            Access().check(user(COMPANY_ADMIN, company=company))


def test_any_user_of_a_company_passes_where_no_role_is_listed():
    Access().check(user(USER))


def test_a_role_claim_sent_as_one_string_is_one_role_not_its_letters():
    principal = Principal.from_claims({"sub": "u", "typ": "user", "cid": COMPANY,
                                       "roles": "company_admin", "scope": ["a", "b"]})
    assert principal.roles == {COMPANY_ADMIN}
    assert principal.scopes == {"a", "b"}


# --- through HTTP ----------------------------------------------------------------------------

async def test_route_with_access_answers_401_problem_asking_for_a_bearer_token(api):
    response = await api.get("/v1/billing-account")
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.json(content_type=None)
    assert body["type"] == "/problems/unauthenticated"
    assert body["instance"] == "/v1/billing-account"


async def test_refused_token_answers_401_naming_an_invalid_token(api, authority):
    past = int(time.time()) - 3600
    response = await api.get("/v1/billing-account", headers={
        "Authorization": f"Bearer {authority.token(iat=past - 60, exp=past)}"})
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert (await response.json(content_type=None))["type"] == "/problems/token-expired"


async def test_route_with_access_answers_403_problem_when_the_role_is_missing(api, authority):
    response = await api.get("/v1/billing-account", headers={
        "Authorization": f"Bearer {authority.token(roles=[USER])}"})
    assert response.status == 403
    assert response.content_type == "application/problem+json"
    body = await response.json(content_type=None)
    assert body["type"] == "/problems/forbidden"
    assert body["required_roles"] == [BILLING_ADMIN, COMPANY_ADMIN]


async def test_route_with_access_answers_the_caller_with_the_role(api, authority):
    response = await api.get("/v1/billing-account", headers={
        "Authorization": f"Bearer {authority.token(roles=[BILLING_ADMIN])}"})
    assert response.status == 200
    assert await response.json() == {"company_id": COMPANY}


async def test_jwks_outage_answers_503_problem_not_401(serve, authority):
    verifier = TokenVerifier("http://127.0.0.1:9/.well-known/jwks.json", issuer=ISSUER,
                             audience=AUDIENCE)
    app = new_app(metrics=Metrics("billing"), verifier=verifier, max_body_bytes=1024,
                  title="Billing")
    add_routes(app, routes)
    api = await serve(app)
    try:
        response = await api.get("/v1/billing-account", headers={
            "Authorization": f"Bearer {authority.token(roles=[BILLING_ADMIN])}"})
        assert response.status == 503
        assert (await response.json(content_type=None))["type"] == "/problems/keys-unavailable"
    finally:
        await verifier.close()



def test_user_who_must_change_their_password_is_refused_elsewhere():
    pending = Principal.from_claims({"sub": "u", "typ": "user", "cid": COMPANY,
                                     "roles": [COMPANY_ADMIN], "pcr": True})
    with pytest.raises(Forbidden) as caught:
        ADMINS.check(pending)
    assert caught.value.slug == "password-change-required"


def test_user_who_must_change_their_password_reaches_the_routes_that_allow_it():
    pending = Principal.from_claims({"sub": "u", "typ": "user", "cid": COMPANY, "pcr": True})
    Access(allow_pending_password_change=True).check(pending)


# -- tokens verified lately are remembered (TokenVerifier's cache) -----------------------------
async def test_a_remembered_token_is_refused_once_it_expires(authority):
    verifier = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE, leeway=0)
    try:
        expires = int(time.time()) + 2
        token = authority.token(exp=expires)
        assert (await verifier.verify(token)).subject == "user-1"
        assert (await verifier.verify(token)).subject == "user-1"  # remembered
        await asyncio.sleep(expires - time.time() + 0.05)  # past its exp
        problem = await refused(verifier, token)
        assert problem.slug == "token-expired"
    finally:
        await verifier.close()


async def test_a_remembered_token_is_refused_once_its_key_is_no_longer_trusted(authority,
                                                                              verifier):
    token = authority.token()
    await verifier.verify(token)
    await verifier.verify(token)  # remembered
    authority.rotate()  # identity withdraws the key; the verifier learns the new set
    verifier.set_keys(authority.jwks())
    problem = await refused(verifier, token)
    assert problem.slug == "invalid-token"


async def test_a_token_that_failed_is_checked_in_full_every_time(authority, verifier):
    forged = authority.token(key=Ed25519PrivateKey.generate())
    for _ in range(3):
        assert (await refused(verifier, forged)).slug == "invalid-token"


async def test_remembering_tokens_changes_no_answer(authority):
    """A verifier remembering two tokens answers as one remembering none, token by token."""
    small = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE,
                          verified_tokens=2)
    none = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE,
                         verified_tokens=0)
    try:
        tokens = [authority.token(sub=f"user-{i}", roles=[f"r{i}"]) for i in range(5)]
        for token in [*tokens, *reversed(tokens), *tokens]:
            assert await small.verify(token) == await none.verify(token)
    finally:
        await small.close()
        await none.close()
