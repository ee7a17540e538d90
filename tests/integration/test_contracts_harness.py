"""The contracts harness's own proof (``tests/support/contracts.py``, fixture ``contracts``):
only identity's tokens open the API, and roles decide who links and who asks support
questions."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

pytestmark = pytest.mark.integration


# -- the harness's own proof: only identity's tokens open the API ------------------------------
async def test_calls_without_a_token_of_identity_are_refused(contracts):
    admin = await contracts.company()
    status, _ = await contracts.call("GET", "/v1/links", admin.token)
    assert status == 200
    forged = contracts.authority.token(key=Ed25519PrivateKey.generate(), sub=admin.user_id,
                                       cid=admin.company_id, roles=["company_admin"])
    for token in (None, forged):
        status, body = await contracts.call("GET", "/v1/links", token)
        assert status == 401 and body["type"].startswith("/problems/")


async def test_only_master_administrators_link_and_only_support_clients_ask_support_questions(
        contracts):
    """Seed 001: "Rollen: Masteradministrator"; support endpoints need `contracts:support`."""
    admin = await contracts.company()
    user = await contracts.user(admin.company_id, ["user"])
    status, body = await contracts.link(user, "1234567890", "ABCDEFGHJKMN")
    assert status == 403, body
    status, _ = await contracts.call("POST", "/v1/support/customer-numbers/1234567890/"
                                     "one-time-password", admin.token)
    assert status == 403
    status, _ = await contracts.call("POST", "/v1/support/customer-numbers/1234567890/"
                                     "one-time-password", contracts.support_token("other:read"))
    assert status == 403
