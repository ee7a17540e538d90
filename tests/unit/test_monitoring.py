"""deploy/monitoring/: alert rules Prometheus loads, valid PromQL everywhere, the alerts the
operators asked for, and metrics named ``bap_…`` beside the standard process metrics. (That
every name exists in the services' /metrics: tests/integration/test_monitoring_metrics.py.)"""

from __future__ import annotations

import re

import promql_parser
import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import PREFIX, Metrics
from tests.support.monitoring import (
    MONITORING,
    PROMETHEUS_OWN,
    Query,
    dashboard_queries,
    exposed_names,
    metric_names,
    missing,
    panels,
    rule_queries,
)

RULE_KEYS = {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"warning", "critical"}


def test_alert_rules_have_the_structure_prometheus_loads(rules) -> None:
    assert set(rules) == {"groups"} and rules["groups"]
    group_names = [g["name"] for g in rules["groups"]]
    assert len(group_names) == len(set(group_names))
    alerts = []
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}, group["name"]
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            where = rule.get("alert")
            assert set(rule) <= RULE_KEYS and {"alert", "expr", "for"} <= set(rule), where
            assert re.fullmatch(r"Bap[A-Z][A-Za-z0-9]+", rule["alert"]), where
            assert DURATION.match(rule["for"]), (where, rule["for"])
            assert rule["labels"]["severity"] in SEVERITIES, where
            assert all(isinstance(v, str) for v in rule["labels"].values()), where
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], where
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts)), "alert names are unique"


def test_every_rule_and_dashboard_query_is_valid_promql(rules, dashboard) -> None:
    queries = rule_queries(rules) + dashboard_queries(dashboard)
    assert len(queries) > 20
    bad = []
    for q in queries:
        try:
            promql_parser.parse(q.expr)
        except ValueError as e:
            bad.append((q.where, str(e)))
    assert bad == []


def test_the_alerts_operators_asked_for_are_there_with_their_thresholds(rules) -> None:
    by_name = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    uses = {name: metric_names(r["expr"]) for name, r in by_name.items()}
    assert {"bap_events_parked_total"} <= uses["BapEventsParked"]
    assert {"bap_parked_messages"} <= uses["BapParkingQueueGrowing"]
    # "relay backlog older than a minute"
    assert uses["BapRelayBacklogOld"] == {"bap_relay_oldest_pending_age_seconds"}
    assert re.search(r">\s*60\b", by_name["BapRelayBacklogOld"]["expr"])
    assert uses["BapConsumerDetached"] == {"bap_consumer_attached"}
    assert uses["BapQueueWithoutConsumer"] == {"bap_consumer_queue_consumers"}
    assert uses["BapHttp5xxRate"] == {"bap_http_requests_total"}
    assert '"5.."' in by_name["BapHttp5xxRate"]["expr"]
    assert uses["BapLoginFailureSpike"] == {"bap_login_failures_total"}
    assert uses["BapSmsProviderFailover"] == {"bap_notification_secondary_provider_active"}
    assert 'channel="sms"' in by_name["BapSmsProviderFailover"]["expr"]


def test_rules_and_panels_use_only_platform_process_and_prometheus_series(rules,
                                                                          dashboard) -> None:
    names = {n for q in rule_queries(rules) + dashboard_queries(dashboard)
             for n in metric_names(q.expr)}
    foreign = {n for n in names if not n.startswith((PREFIX, "process_", "python_"))}
    assert foreign <= PROMETHEUS_OWN


def test_the_dashboard_is_grafana_json_with_a_query_in_every_panel(dashboard) -> None:
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    graphs = [p for p in panels(dashboard) if p["type"] != "row"]
    assert len(graphs) >= 12
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in graphs:
        assert panel["targets"] and panel["description"], panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        # Filtered by the service picked at the top (the variable's own query aside).
        assert all("$service" in t["expr"] for t in panel["targets"]), panel["title"]


def test_the_scrape_configuration_gives_the_labels_the_rules_group_by() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    [job] = config["scrape_configs"]
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"service", "role", "pod", "namespace"} <= targets


def test_a_rule_naming_a_metric_no_service_exposes_is_reported() -> None:
    """The check the integration test makes, shown to fail on a name nothing exposes."""
    exposition = generate_latest(Metrics("identity").registry).decode()
    exposed = exposed_names(exposition)
    good = Query("alert Good", "sum(rate(bap_events_parked_total[5m])) > 0")
    bad = Query("alert Bad", "rate(bap_events_parkd_total[5m]) > 0 and up == 0")
    assert missing([good], exposed) == []
    assert missing([good, bad], exposed) == [("alert Bad", "bap_events_parkd_total")]
    with pytest.raises(ValueError):
        metric_names("rate(bap_events_parked_total[5m]")


def test_application_metrics_carry_the_prefix_beside_the_process_collector() -> None:
    families = {f.name: f for f in text_string_to_metric_families(
        generate_latest(Metrics("billing").registry).decode())}
    own = [n for n in families if not n.startswith(("process_", "python_"))]
    assert own and all(n.startswith(PREFIX) for n in own), own
    # The process collector in the service's own registry: memory, CPU, file descriptors.
    for name in ("process_resident_memory_bytes", "process_cpu_seconds", "process_open_fds"):
        assert families[name].samples, name
    assert families["python_info"].samples
