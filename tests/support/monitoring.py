"""Reading deploy/monitoring/: the alert rules, the dashboard's queries, the metric names they
use, and which of those a service's ``/metrics`` exposition does not have."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"

# Series Prometheus itself makes (alert state, scrape health): no service exposes them.
PROMETHEUS_OWN = frozenset({"ALERTS", "ALERTS_FOR_STATE", "up", "scrape_duration_seconds"})
# Grafana's variables, as Grafana replaces them before the query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$service": ".*"}

# The series names each kind of metric family exposes (prometheus_client's text format).
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "untyped": ("",),
             "histogram": ("_bucket", "_count", "_sum", "_created"),
             "summary": ("", "_count", "_sum", "_created"), "info": ("_info",),
             "stateset": ("",), "gaugehistogram": ("_bucket", "_gcount", "_gsum")}


@dataclass(frozen=True)
class Query:
    where: str  # "alert BapRelayBacklogOld", "panel Consumer lag", ...
    expr: str


def load_rules(path: Path = RULES) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    return json.loads(path.read_text())


def rule_queries(rules: dict[str, Any]) -> list[Query]:
    return [Query(f"alert {r['alert']}", r["expr"])
            for g in rules["groups"] for r in g["rules"]]


def _grafana(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # a collapsed row keeps its panels inside
    return out


def dashboard_queries(dashboard: dict[str, Any]) -> list[Query]:
    queries = [Query(f"panel {p['title']}", _grafana(t["expr"]))
               for p in panels(dashboard) for t in p.get("targets", [])]
    queries += [Query(f"annotation {a['name']}", _grafana(a["expr"]))
                for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            # label_values(<metric>, <label>): the metric is what must exist.
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert found, f"variable {variable['name']}: {variable['definition']}"
            queries.append(Query(f"variable {variable['name']}", found.group(1)))
    return queries


def metric_names(expr: str) -> set[str]:
    """Every metric name the PromQL expression selects (raises ValueError if it is not
    valid PromQL, AssertionError for a selector without a plain name)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name: {expr}"
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def exposed_names(exposition: str) -> set[str]:
    """The series names an exposition offers, families without samples yet included (a
    labelled counter nobody incremented is still declared)."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(s.name for s in family.samples)
    return names


def missing(queries: list[Query], exposed: set[str]) -> list[tuple[str, str]]:
    """(where, name) of every name a query uses that nothing exposes."""
    return sorted({(q.where, name) for q in queries for name in metric_names(q.expr)
                   if name not in exposed and name not in PROMETHEUS_OWN})
