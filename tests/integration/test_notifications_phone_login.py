"""Seed 002 in notifications: a mobile-number login reaches the notification preferences of
the account behind its number when its company allows it (ID-6), and nobody else's."""

from __future__ import annotations

import pytest

from tests.support.notifications import COMPANY_A, service
from tests.support.tokens import bearer

pytestmark = pytest.mark.integration

PATH = "/v1/me/notification-preferences"


def phone_login(authority, user_id: str, perms: tuple[str, ...]) -> dict:
    return bearer(authority.token(sub=user_id, cid=COMPANY_A, roles=[], perms=list(perms),
                                  amr=["sms"], phone="+36301234567"))


async def test_seed002_phone_login_sets_its_own_notification_preferences(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            _, http, authority, _smtp):
        phone = phone_login(authority, "u-7", ("own_number:notifications",))
        async with http.put(PATH, headers=phone, json={"email": False, "sms": True}) as r:
            assert r.status == 200, await r.text()
        # The same account logged in with its password sees what the phone login set.
        me = bearer(authority.token(sub="u-7", cid=COMPANY_A, roles=["user"]))
        async with http.get(PATH, headers=me) as r:
            assert await r.json() == {"email": False, "sms": True}
        # Another user's preferences are untouched.
        other = bearer(authority.token(sub="u-8", cid=COMPANY_A, roles=["user"]))
        async with http.get(PATH, headers=other) as r:
            assert await r.json() == {"email": True, "sms": True}


async def test_seed002_phone_login_is_refused_preferences_the_administrator_switched_off(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    async with service(mongo_url, amqp_url, bus_prefix, unique, tmp_path) as (
            _, http, authority, _smtp):
        phone = phone_login(authority, "u-7", ("own_number:read", "own_number:invoices"))
        for method in ("GET", "PUT"):
            async with http.request(method, PATH, headers=phone,
                                    json={"email": False, "sms": False}) as r:
                problem = await r.json()
                assert r.status == 403, method
                assert problem["type"] == "/problems/phone-login-permission"
        # Nor the company's delivery log, whatever the account behind the number may do.
        admin_phone = bearer(authority.token(sub="u-1", cid=COMPANY_A, roles=["company_admin"],
                                             perms=["own_number:notifications"], amr=["sms"],
                                             phone="+36301234567"))
        async with http.get("/v1/deliveries", headers=admin_phone) as r:
            assert r.status == 403
            assert (await r.json())["type"] == "/problems/phone-login-scope"
