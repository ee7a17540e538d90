"""Prometheus metrics of one service process, in a registry of its own (tests run several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"registry": self.registry}
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests by route and status",
            ["method", "route", "status"], **labels)
        self.http_latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route",
            ["method", "route"], **labels,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.events_published = Counter(
            "events_published_total", "Events published by the relay (confirmed)", ["type"],
            **labels)
        self.events_consumed = Counter(
            "events_consumed_total", "Events consumed and acknowledged", ["type", "outcome"],
            **labels)
        self.events_retried = Counter(
            "events_retried_total", "Events sent back for a later attempt", ["type"], **labels)
        self.events_parked = Counter(
            "events_parked_total", "Events parked with a reason", ["type", "reason"], **labels)
        self.relay_backlog = Gauge(
            "relay_backlog_aggregates", "Aggregates with events not yet published", **labels)
        self.rate_limit_refusals = Counter(
            "rate_limit_refusals_total", "Requests refused by a rate limit", ["limit"],
            **labels)
        self.service = service
