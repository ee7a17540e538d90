"""identity's flows with the four services as real processes, and no secret in any log."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import log_in, register_company

pytestmark = pytest.mark.e2e


async def test_login_with_sms_code_refresh_and_password_reset_leave_no_secret_in_logs(
        platform, amqp_url, bus_prefix):
    """ID-1, ID-4, ID-5, ID-8 end to end; PLT-6: codes, tokens and passwords never logged."""
    identity = platform["identity"].url
    secrets: list[str] = []
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, \
            aiohttp.ClientSession() as http:
        account = await register_company(http, identity, tap)
        secrets += [account.password, account.access_token, account.refresh_token]
        session = await log_in(http, identity, tap, account.email, account.password)
        code = tap.of("identity.login_code.requested.v1")[-1]["data"]["code"]
        secrets += [session["access_token"], session["refresh_token"]]
        async with http.post(f"{identity}/v1/sessions/refresh",
                             json={"refresh_token": session["refresh_token"]}) as r:
            refreshed = await r.json()
            assert r.status == 200
        secrets.append(refreshed["refresh_token"])
        async with http.post(f"{platform['billing'].url}/v1/billing-account",
                             headers={"Authorization": f"Bearer {refreshed['access_token']}"}
                             ) as r:
            assert r.status in (404, 405)  # a GET resource: the token itself was accepted
        # A new login phone, confirmed with the code sent to it (the code must not be logged).
        auth = {"Authorization": f"Bearer {refreshed['access_token']}"}
        async with http.patch(f"{identity}/v1/me/contact-details", headers=auth, json={
                "phone": "+36709876543", "current_password": account.password}) as r:
            assert r.status == 200
        phone_code = (await tap.wait_for("identity.phone_verification.requested.v1"))[
            "data"]["code"]
        async with http.post(f"{identity}/v1/me/phone-verification", headers=auth,
                             json={"code": phone_code}) as r:
            assert r.status == 200
        await http.post(f"{identity}/v1/password-resets", json={"email": account.email})
        reset = await tap.wait_for("identity.password_reset.requested.v1")
        new_password = "Neues!Pass77"
        async with http.post(f"{identity}/v1/password-resets/completion", json={
                "token": reset["data"]["token"], "new_password": new_password,
                "new_password_repeat": new_password}) as r:
            assert r.status == 204
        secrets += [reset["data"]["token"], new_password]
        registration = tap.of("identity.registration.started.v1")[-1]["data"]["token"]
        secrets.append(registration)
        await log_in(http, identity, tap, account.email, new_password)
    logs = platform.all_log_text()
    assert "login_code" in logs or "sessions" in logs or "identity" in logs
    leaked = [s[:6] + "…" for s in secrets if s in logs]
    assert not leaked, f"secrets found in logs: {leaked}"
    for line in logs.splitlines():
        for short in (code, phone_code):
            assert f'"{short}"' not in line and f"={short}" not in line
