"""Refresh tokens as one document per session: the token names its family, rotation swaps the
current token in one write; tokens issued as a bare secret (a document each) still work once."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime

import pytest

from services.identity.domain import secrets as codes
from services.identity.domain.sessions import RefreshToken, token_family
from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.identity import register_company

pytestmark = [pytest.mark.integration]


async def refresh(http, url, token: str) -> tuple[int, dict]:
    async with http.post(f"{url}/v1/sessions/refresh", json={"refresh_token": token}) as r:
        return r.status, await r.json()


async def test_a_token_names_its_session_and_rotation_keeps_one_document(identity):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    family_id = token_family(account.refresh_token)
    assert family_id is not None
    status, second = await refresh(http, url, account.refresh_token)
    assert status == 200 and token_family(second["refresh_token"]) == family_id
    tokens = unit(app, Identity).store.refresh_tokens
    docs = await tokens.find({"family_id": family_id}).to_list()
    assert len(docs) == 1 and docs[0]["_id"] == family_id
    assert docs[0]["token_hash"] == codes.token_hash(second["refresh_token"])


async def test_a_forged_secret_of_a_live_session_counts_as_reuse_and_ends_it(identity):
    url, _, tap, http = identity
    account = await register_company(http, url, tap)
    family_id = token_family(account.refresh_token)
    status, body = await refresh(http, url, f"{family_id}.{secrets.token_urlsafe(32)}")
    assert status == 401 and body["type"] == "/problems/refresh-token-reused"
    status, _ = await refresh(http, url, account.refresh_token)
    assert status == 401


async def test_an_unknown_family_is_refused(identity):
    url, _, _, http = identity
    status, body = await refresh(http, url,
                                 f"{uuid.uuid4().hex}.{secrets.token_urlsafe(32)}")
    assert status == 401 and body["type"] == "/problems/refresh-token-invalid"


async def test_a_bare_secret_token_rotates_once_into_a_session_of_its_family(identity):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    ctx = unit(app, Identity)
    bare, family_id = secrets.token_urlsafe(32), uuid.uuid4().hex
    await ctx.store.refresh_tokens.insert_one(RefreshToken(
        token_hash=codes.token_hash(bare), family_id=family_id, user_id=account.user_id,
        company_id=account.company_id, amr=["pwd"], status="active",
        created_at=datetime.now(UTC), expires=time.time() + 3600).model_dump(by_alias=True))
    status, second = await refresh(http, url, bare)
    assert status == 200 and token_family(second["refresh_token"]) == family_id
    status, third = await refresh(http, url, second["refresh_token"])
    assert status == 200
    # The bare token again: reused, and the session it became ends with it.
    status, body = await refresh(http, url, bare)
    assert status == 401 and body["type"] == "/problems/refresh-token-reused"
    status, _ = await refresh(http, url, third["refresh_token"])
    assert status == 401


async def test_logout_with_a_bare_secret_token_ends_its_family(identity):
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    ctx = unit(app, Identity)
    bare = secrets.token_urlsafe(32)
    await ctx.store.refresh_tokens.insert_one(RefreshToken(
        token_hash=codes.token_hash(bare), family_id=uuid.uuid4().hex,
        user_id=account.user_id, company_id=account.company_id, amr=["pwd"],
        status="active", created_at=datetime.now(UTC),
        expires=time.time() + 3600).model_dump(by_alias=True))
    async with http.post(f"{url}/v1/sessions/logout", json={"refresh_token": bare}) as r:
        assert r.status == 204
    status, _ = await refresh(http, url, bare)
    assert status == 401
