"""Prometheus metrics of one service process, in a registry of its own (tests run several apps).

Every application metric is named ``bap_…`` (``PREFIX``); the process, platform and garbage
collector metrics keep their standard names (``process_…``, ``python_…``) so the usual
dashboards work. Labels stay bounded: route templates (never paths), limit names, event types,
reasons, queue names, provider names. Which service and role a process is comes from the
scrape (``deploy/monitoring/prometheus.yml`` sets ``service`` and ``role`` from the pod's
labels), not from the metrics.
``deploy/monitoring/`` has the alert rules and the dashboard built on these names;
``tests/integration/test_monitoring_metrics.py`` checks that every name they use exists.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

PREFIX = "bap_"


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        # What the default registry would have had (memory, CPU, file descriptors, GC).
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = self.counter(
            "http_requests_total", "HTTP requests by method, route template and status",
            ["method", "route", "status"])
        self.http_latency = Histogram(
            PREFIX + "http_request_duration_seconds",
            "HTTP request latency by method and route template", ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.events_published = self.counter(
            "events_published_total", "Events published by the relay (confirmed by the broker)",
            ["type"])
        self.events_consumed = self.counter(
            "events_consumed_total", "Events consumed and acknowledged", ["type", "outcome"])
        self.events_retried = self.counter(
            "events_retried_total", "Events sent back for a later attempt", ["type"])
        self.events_parked = self.counter(
            "events_parked_total", "Events this process parked, by type and reason "
            "(not-json, invalid-envelope, unknown-type, invalid-data, rejected, "
            "handler-failed, too-large)", ["type", "reason"])
        self.relay_backlog = self.gauge(
            "relay_backlog_aggregates", "Aggregates with events not yet published "
            "(counted up to 10000 per store)")
        self.relay_oldest_pending = self.gauge(
            "relay_oldest_pending_age_seconds", "Age of the oldest event not yet published "
            "(0 when none is waiting)")
        self.consumer_queue_messages = self.gauge(
            "consumer_queue_messages", "Messages ready in the service's queue, waiting for a "
            "consumer (consumer lag), as the broker reports it", ["queue"])
        self.consumer_queue_consumers = self.gauge(
            "consumer_queue_consumers", "Consumers attached to the service's queue, all "
            "replicas together, as the broker reports it", ["queue"])
        self.consumer_attached = self.gauge(
            "consumer_attached", "1 while this worker process's consumer is attached to its "
            "queue, 0 while it is detached (only worker processes have it)", ["queue"])
        self.parked_messages = self.gauge(
            "parked_messages", "Messages in the service's parking queue (parked by a consumer "
            "or dead-lettered by the delivery limit)", ["queue"])
        self.rate_limit_refusals = self.counter(
            "rate_limit_refusals_total", "Requests refused by a rate limit, by limit name",
            ["limit"])

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter ``bap_<name>`` in this service's registry (service-specific metrics are
        created with it when the service is wired, so ``/metrics`` lists them from the start)."""
        return Counter(PREFIX + name, documentation, list(labels), registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """A gauge ``bap_<name>`` in this service's registry."""
        return Gauge(PREFIX + name, documentation, list(labels), registry=self.registry)
