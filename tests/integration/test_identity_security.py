"""Tokens that must not open anything, and one company never reaching another's data."""

from __future__ import annotations

import base64
import json
import time

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.identity import identity_running, register_company

pytestmark = pytest.mark.integration


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _status(http, url, token: str) -> int:
    async with http.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
        if r.status == 401:
            assert (await r.json())["type"] in ("/problems/invalid-token",
                                                "/problems/token-expired")
        return r.status


async def test_tampered_none_expired_and_unknown_key_tokens_are_refused(identity):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    header, payload, signature = account.access_token.split(".")
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(account.access_token)["kid"]
    assert await _status(http, url, account.access_token) == 200

    tampered = ".".join([header, _b64({**claims, "roles": ["company_admin", "x"],
                                       "cid": "another-company"}), signature])
    alg_none = ".".join([_b64({"alg": "none", "typ": "JWT", "kid": kid}), payload, ""])
    keys = unit(app, Identity).keys
    expired = keys.sign({**claims, "iat": int(time.time()) - 3600,
                         "exp": int(time.time()) - 1800})
    stranger = jwt.encode({**claims}, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                          headers={"kid": "not-a-known-key"})
    forged_with_known_kid = jwt.encode({**claims}, Ed25519PrivateKey.generate(),
                                       algorithm="EdDSA", headers={"kid": kid})
    for token in (tampered, alg_none, expired, stranger, forged_with_known_kid):
        assert await _status(http, url, token) == 401


async def test_a_rotated_key_keeps_old_tokens_valid_and_signs_new_ones(identity):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    old_kid = jwt.get_unverified_header(account.access_token)["kid"]
    new_kid = await unit(app, Identity).keys.rotate(keep_seconds=1200)
    async with http.get(f"{url}/.well-known/jwks.json") as r:
        kids = [k["kid"] for k in (await r.json())["keys"]]
    assert old_kid in kids and new_kid in kids
    assert await _status(http, url, account.access_token) == 200
    async with http.post(f"{url}/v1/sessions/refresh",
                         json={"refresh_token": account.refresh_token}) as r:
        fresh = (await r.json())["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    assert await _status(http, url, fresh) == 200


async def test_one_company_sees_only_its_own_account_company_and_settings(identity):
    url, _, tap, http = identity
    a = await register_company(http, url, tap, company_name="Alpha Kft.")
    b = await register_company(http, url, tap, company_name="Beta GmbH", phone="+36201112233")
    for account, name in ((a, "Alpha Kft."), (b, "Beta GmbH")):
        async with http.get(f"{url}/v1/company", headers=account.auth) as r:
            assert (await r.json())["company_name"] == name
        async with http.get(f"{url}/v1/company/settings", headers=account.auth) as r:
            assert (await r.json())["company_id"] == account.company_id
        async with http.get(f"{url}/v1/me", headers=account.auth) as r:
            assert (await r.json())["company_id"] == account.company_id
    async with http.patch(f"{url}/v1/company/settings", headers=a.auth,
                          json={"company_name": "Alpha Zrt."}) as r:
        assert r.status == 200
    async with http.get(f"{url}/v1/company", headers=b.auth) as r:
        assert (await r.json())["company_name"] == "Beta GmbH"
    # B can not delete or promote A's addresses: its calls act on B's own account only.
    async with http.delete(f"{url}/v1/me/emails/{a.email}", headers=b.auth) as r:
        assert r.status == 404
    async with http.post(f"{url}/v1/sessions", json={"login": a.email,
                                                     "password": a.password}) as r:
        assert r.status == 200


async def test_internal_client_gets_only_its_scopes_and_no_user_routes(
        mongo_url, amqp_url, bus_prefix, unique):
    import hashlib
    client = {"client_id": "support-desk", "scopes": ["notifications:read", "contracts:support"],
              "secret_sha256": hashlib.sha256(b"s3cret-support-desk-secret").hexdigest()}
    async with (identity_running(mongo_url, amqp_url, bus_prefix, unique,
                                internal_clients=[client]) as (url, _),
                aiohttp.ClientSession() as http):
        form = {"grant_type": "client_credentials", "client_id": "support-desk",
                "client_secret": "s3cret-support-desk-secret"}
        async with http.post(f"{url}/v1/oauth/token", json=form) as r:
            body = await r.json()
        assert body["scope"] == "contracts:support notifications:read"
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["typ"] == "client" and "cid" not in claims
        async with http.post(f"{url}/v1/oauth/token",
                             json={**form, "scope": "billing:write"}) as r:
            assert r.status == 403
        async with http.post(f"{url}/v1/oauth/token",
                             json={**form, "client_secret": "wrong"}) as r:
            assert r.status == 401
        async with http.get(f"{url}/v1/me", headers={
                "Authorization": f"Bearer {body['access_token']}"}) as r:
            assert r.status == 403
