"""The kit's one rate-limit mechanism: shared by every replica (counters in MongoDB), exact
under concurrency, a refusal is a 429 problem with Retry-After and is counted in /metrics."""

from __future__ import annotations

import asyncio

from shared.http import problem_response
from shared.metrics import Metrics
from shared.ratelimit import HOUR, Limit, RateLimiter

RESETS = Limit("password-resets-per-address", 3, HOUR)


def _refusals(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value("bap_rate_limit_refusals_total", {"limit": name}) or 0


async def test_of_many_concurrent_requests_exactly_the_limit_go_through_on_two_replicas(db):
    one, two = Metrics("identity"), Metrics("identity")
    replicas = [RateLimiter(db["counters"], one), RateLimiter(db["counters"], two)]
    results = await asyncio.gather(*(replicas[i % 2].take(RESETS, "anna@example.com")
                                     for i in range(40)))
    assert results.count(True) == 3
    assert _refusals(one, RESETS.name) + _refusals(two, RESETS.name) == 37
    # Another key has its own allowance.
    assert await replicas[0].take(RESETS, "bert@example.com")


async def test_a_refusal_is_a_429_problem_naming_the_limit_with_retry_after(db):
    limits = RateLimiter(db["counters"], Metrics("identity"))
    signups = Limit("registrations-per-ip", 1, HOUR)
    await limits.check(signups, "203.0.113.9")
    try:
        await limits.check(signups, "203.0.113.9")
    except Exception as refused:
        response = problem_response(refused)
    else:
        raise AssertionError("the second request went through")
    assert response.status == 429
    assert response.content_type == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert b'"limit": "registrations-per-ip"' in response.body


async def test_a_refused_request_gives_back_what_it_took_from_the_other_limits(db):
    limits = RateLimiter(db["counters"], Metrics("identity"))
    per_number = Limit("sms-per-number", 5, HOUR)
    per_company = Limit("sms-per-company", 1, HOUR)
    assert await limits.take_all([(per_number, "+36301"), (per_company, "c-1")]) is None
    refused = await limits.take_all([(per_number, "+36301"), (per_company, "c-1")])
    assert refused == per_company
    # The refused request used none of the number's allowance: 4 more fit, not 3.
    assert [await limits.take(per_number, "+36301") for _ in range(5)] == [True] * 4 + [False]


async def test_a_limit_of_zero_refuses_everything(db):
    limits = RateLimiter(db["counters"], Metrics("identity"))
    assert not await limits.take(Limit("invitations-per-company", 0, HOUR), "c-1")


async def test_counters_of_past_windows_are_removed_by_the_database(db):
    """Limits keyed by attacker-chosen values (addresses, numbers) must not pile up: each
    window's counter carries its end, and a TTL index lets MongoDB remove it."""
    limits = RateLimiter(db["counters"], Metrics("identity"))
    await limits.apply_indexes()
    second = Limit("resets-per-second", 1, 1.0)
    for n in range(20):
        await limits.take(second, f"victim{n}@example.com")
    counters = await db["counters"].find({}).to_list()
    assert len(counters) == 20 and all(c["expires_at"] for c in counters)
    ttl = [i for i in (await db["counters"].index_information()).values()
           if i.get("expireAfterSeconds") == 0]
    assert [i["key"] for i in ttl] == [[("expires_at", 1)]]


def test_limits_per_client_count_an_ipv6_host_by_its_64_and_unwrap_ipv4():
    """One host gets a whole IPv6 /64: counting each address would multiply its allowance."""
    from shared.http import client_network

    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:bbbb::9")
    assert client_network("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_network("203.0.113.9") == "203.0.113.9"
