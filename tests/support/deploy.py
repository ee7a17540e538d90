"""The deployment files the unit tests read: Kubernetes manifests and docker-compose.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
SECRETS_EXAMPLE = K8S / "secrets.example.yaml"
COMPOSE = ROOT / "docker-compose.yml"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
