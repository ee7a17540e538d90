"""The event catalogue: every event type on the bus, who publishes it and who consumes it.

`python -m scripts.catalogue` rewrites docs/asyncapi.json and the README's catalogue table;
tests/unit/test_catalogue.py fails when either is out of date.
"""

from __future__ import annotations

import importlib
import json
import sys

from scripts.infra import ROOT
from shared.events import EventSpec, build_asyncapi

SERVICES = ("identity", "billing", "contracts", "notifications")
ASYNCAPI = ROOT / "docs" / "asyncapi.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"


def published() -> list[EventSpec]:
    specs: list[EventSpec] = []
    for name in SERVICES:
        module = importlib.import_module(f"services.{name}.events")
        specs.extend(module.PUBLISHED)
        specs.extend(getattr(module, "EXTERNAL", []))
    return specs


def subscriptions() -> dict[str, list]:
    """Each service's consumed subscriptions (handlers are built but never called)."""
    out = {}
    for name in SERVICES:
        module = importlib.import_module(f"services.{name}.consumers")
        out[name] = module.subscriptions(None)
    return out


def consumers_by_type() -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for service, subs in subscriptions().items():
        for s in subs:
            by_type.setdefault(s.type, []).append(service)
    return by_type


def asyncapi() -> dict:
    return build_asyncapi(published(), consumers_by_type())


def markdown_table() -> str:
    by_type = consumers_by_type()
    rows = ["| event type | published by | consumed by | meaning |", "|---|---|---|---|"]
    for spec in sorted(published(), key=lambda s: s.type):
        rows.append(f"| `{spec.type}` | {spec.publisher} | "
                    f"{', '.join(sorted(by_type.get(spec.type, []))) or '—'} | {spec.summary} |")
    return "\n".join(rows)


def render_asyncapi() -> str:
    return json.dumps(asyncapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def readme_with_table(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + markdown_table() + "\n" + text[end:]


def main() -> None:
    ASYNCAPI.parent.mkdir(exist_ok=True)
    ASYNCAPI.write_text(render_asyncapi())
    README.write_text(readme_with_table(README.read_text()))
    print(f"wrote {ASYNCAPI.relative_to(ROOT)} and the catalogue table in README.md",
          file=sys.stderr)


if __name__ == "__main__":
    main()
