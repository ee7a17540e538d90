"""deploy/kubernetes/ agrees with the Kubernetes schemas, with KEDA's documentation and with
the code: every service and role has its Deployment, and every setting it needs is provided.

No cluster here: each manifest is validated offline against the Kubernetes JSON schemas that
``kubernetes-validate`` ships (strict: an unknown field is an error); the KEDA resources,
which those schemas do not cover, are checked for the fields KEDA's ScaledObject and
RabbitMQ-scaler documentation requires. The settings check builds each service's real
settings class from the ConfigMap, the container's environment and the example Secret's
files, as the pod would, and fails on a development-only default, a local address or a
file transport (the root file system is read-only).
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from shared.bus import CLOSE_TIMEOUT, Topology
from shared.config import ServiceSettings
from shared.service import ROLES
from tests.support.deploy import K8S, ROOT, SECRETS_EXAMPLE, load_all

pytestmark = pytest.mark.unit

SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py"))
# "all" is for one machine; in Kubernetes each role is a Deployment that scales on its own.
DEPLOYED_ROLES = tuple(r for r in ROLES if r != "all")
# Oldest Kubernetes minor still maintained upstream, and the newest the package ships.
KUBERNETES_VERSIONS = ("1.33", "1.37")
KEDA_API = "keda.sh/v1alpha1"
# Settings whose default points at this machine: in a pod they must be set.
LOCAL = re.compile(r"(127\.0\.0\.1|localhost)")


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def the_container(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def config(manifests) -> dict[str, str]:
    return of_kind(manifests, "ConfigMap")["bap-config"]["data"]


# -- the files -----------------------------------------------------------------------------

def test_kustomization_lists_every_manifest_but_the_secret_example(manifests) -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRETS_EXAMPLE.name}
    assert listed == present, f"kustomization.yaml lists {sorted(listed)}; the directory " \
                              f"holds {sorted(present)}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(manifests, version) -> None:
    problems = []
    for doc in [*manifests, *load_all(SECRETS_EXAMPLE)]:
        if doc["apiVersion"] == KEDA_API:
            continue  # not a Kubernetes kind: checked against KEDA's documentation below
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{name}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            problems.append(f"{name}: {e.message}")
    assert not problems, f"Kubernetes {version}:\n" + "\n".join(problems)


def test_the_validator_refuses_a_wrong_manifest() -> None:
    # The check above is only worth something if a mistake fails it.
    wrong = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
             "spec": {"replicas": "two", "selector": {}, "template": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSIONS[0], strict=True)


# -- every service and role ----------------------------------------------------------------

def test_every_service_in_the_code_is_deployed_in_each_role_and_nothing_else(manifests) -> None:
    assert SERVICES == ["billing", "contracts", "identity", "notifications"]
    expected = {f"{s}-{r}" for s in SERVICES for r in DEPLOYED_ROLES}
    assert set(of_kind(manifests, "Deployment")) == expected


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("role", DEPLOYED_ROLES)
def test_deployment_runs_the_service_in_its_role_safely(manifests, service, role) -> None:
    deployment = of_kind(manifests, "Deployment")[f"{service}-{role}"]
    pod = deployment["spec"]["template"]["spec"]
    container = the_container(deployment)
    assert container["command"] == ["python", "-m", f"services.{service}", role]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # Replicas belong to the autoscaler; a fixed count would be reset at every apply.
    assert "replicas" not in deployment["spec"]

    # Probes on the endpoints every role serves (shared/http/health.py), on its port.
    port = settings_type(service)().http_port
    assert [p["containerPort"] for p in container["ports"]] == [port]
    http_source = (ROOT / "shared" / "http" / "health.py").read_text()
    for probe, path in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
        assert container[probe]["httpGet"]["path"] == path, f"{probe} of {service}-{role}"
        assert f'add_get("{path}"' in http_source
        assert container[probe]["httpGet"]["port"] in ("http", port)

    # Requests and limits for CPU and memory.
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{service}-{role} {kind}"

    # Non-root, read-only root file system, nothing more than it needs.
    security = {**pod.get("securityContext", {}), **container["securityContext"]}
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False

    # The process drains within the grace period: preStop pause, SHUTDOWN_GRACE_SECONDS,
    # then closing the broker connection (shared/bus.py CLOSE_TIMEOUT).
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = float(config(manifests)["SHUTDOWN_GRACE_SECONDS"])
    assert pause + grace + CLOSE_TIMEOUT < pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_api_has_a_service_a_cpu_autoscaler_and_a_disruption_budget(manifests,
                                                                         service) -> None:
    name = f"{service}-api"
    deployment = of_kind(manifests, "Deployment")[name]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    svc = of_kind(manifests, "Service")[name]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in svc["spec"]["ports"]] in (["http"], [
        settings_type(service)().http_port])

    hpa = of_kind(manifests, "HorizontalPodAutoscaler")[name]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": name}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # Two at least, so a disruption or a rollout never leaves the API without a replica.
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

    pdb = of_kind(manifests, "PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_each_worker_has_a_disruption_budget_and_no_cpu_autoscaler(manifests, service) -> None:
    name = f"{service}-worker"
    pod_labels = of_kind(manifests, "Deployment")[name]["spec"]["template"]["metadata"][
        "labels"]
    pdb = of_kind(manifests, "PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # KEDA makes the worker's HPA from its ScaledObject; a second one would fight it.
    targets = [h["spec"]["scaleTargetRef"]["name"]
               for h in of_kind(manifests, "HorizontalPodAutoscaler").values()]
    assert name not in targets


# -- KEDA ----------------------------------------------------------------------------------
# ScaledObject (keda.sh/docs, reference/scaledobject-spec): spec.scaleTargetRef.name is
# mandatory and names a target in the same namespace (apiVersion/kind default to
# apps/v1 Deployment); spec.triggers is required; idleReplicaCount < minReplicaCount <=
# maxReplicaCount. RabbitMQ trigger (scalers/rabbitmq-queue): metadata queueName, mode
# (QueueLength or MessageRate) and value are required, protocol is auto, amqp or http
# (MessageRate needs the management API: http); host comes from metadata (host,
# hostFromEnv) or from a TriggerAuthentication parameter "host". Metadata values are strings.

@pytest.mark.parametrize("service", SERVICES)
def test_each_worker_scales_on_its_queue_with_a_scaled_object_keda_accepts(manifests, secrets,
                                                                           service) -> None:
    deployments = of_kind(manifests, "Deployment")
    scaled = {d["metadata"]["name"]: d for d in manifests
              if d["apiVersion"] == KEDA_API and d["kind"] == "ScaledObject"}
    [so] = [s for s in scaled.values()
            if s["spec"]["scaleTargetRef"]["name"] == f"{service}-worker"]
    spec = so["spec"]
    assert set(spec) <= {"scaleTargetRef", "pollingInterval", "cooldownPeriod",
                         "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount",
                         "maxReplicaCount", "fallback", "advanced", "triggers"}
    ref = spec["scaleTargetRef"]
    assert ref.get("apiVersion", "apps/v1") == "apps/v1"
    assert ref.get("kind", "Deployment") == "Deployment"
    assert ref["name"] in deployments
    assert "namespace" not in so["metadata"]  # the target's namespace, whatever it is
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    assert 1 <= low <= high, "a worker never scales to zero: events are handled at once"
    if "idleReplicaCount" in spec:
        assert spec["idleReplicaCount"] < low
    for key in ("pollingInterval", "cooldownPeriod"):
        assert isinstance(spec.get(key, 0), int) and spec.get(key, 0) >= 0

    [trigger] = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"
    assert meta["mode"] in ("QueueLength", "MessageRate")
    assert float(meta["value"]) > 0
    protocol = meta.get("protocol", "auto")
    assert protocol in ("auto", "amqp", "http")
    if meta["mode"] == "MessageRate":
        assert protocol == "http"
    # The queue the worker consumes (shared/bus.py), with the prefix the pods are given.
    assert meta["queueName"] == Topology(config(manifests)["BUS_PREFIX"], service).queue

    # The broker address: never a literal (it holds credentials), from the service's Secret.
    assert "host" not in meta
    auth = of_kind([d for d in manifests if d["apiVersion"] == KEDA_API],
                   "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    [host] = [r for r in auth["spec"]["secretTargetRef"] if r["parameter"] == "host"]
    assert host["key"] in secrets[host["name"]], f"{host['name']} has no key {host['key']}"
    assert secrets[host["name"]][host["key"]].startswith(("amqp://", "amqps://"))


# -- settings ------------------------------------------------------------------------------

def settings_type(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    [cls] = [v for v in vars(module).values() if isinstance(v, type)
             and issubclass(v, ServiceSettings) and v is not ServiceSettings
             and v.__module__ == module.__name__]
    return cls


def pod_settings(manifests, secrets, service: str, role: str, monkeypatch,
                 tmp_path: Path) -> ServiceSettings:
    """The settings the pod's process would build: ConfigMap and container environment as
    variables, the mounted Secret as files under SECRETS_DIR; nothing from this machine."""
    container = the_container(of_kind(manifests, "Deployment")[f"{service}-{role}"])
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(of_kind(manifests, "ConfigMap")[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", [])})
    [volume] = [v for v in pod_spec(manifests, service, role)["volumes"]
                if "secret" in v]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert env.get("SECRETS_DIR") == mount["mountPath"], \
        f"{service}-{role}: SECRETS_DIR is not where the Secret is mounted"
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    for key, value in secrets[volume["secret"]["secretName"]].items():
        (secret_dir / key).write_text(value + "\n")  # as `kubectl create --from-file` keeps it
    env["SECRETS_DIR"] = str(secret_dir)
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return settings_type(service)()


def pod_spec(manifests, service: str, role: str) -> dict[str, Any]:
    return of_kind(manifests, "Deployment")[f"{service}-{role}"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("role", DEPLOYED_ROLES)
def test_every_setting_a_pod_needs_is_provided(manifests, secrets, service, role, monkeypatch,
                                               tmp_path) -> None:
    settings = pod_settings(manifests, secrets, service, role, monkeypatch, tmp_path)
    assert settings.dev_mode is False
    # Peppers, keys, the card sandbox: a pod with a development default refuses to start.
    assert settings.development_defaults() == []
    # Anything pointing at this machine (MongoDB, RabbitMQ, the JWKS, the portal links).
    local = [name for name, info in type(settings).model_fields.items()
             if LOCAL.search(str(info.default)) and LOCAL.search(str(getattr(settings, name)))]
    assert not local, f"{service}-{role} keeps local defaults: {local}"
    assert settings.http_host == "0.0.0.0", "probes reach the pod on its own address"
    # Read from the Secret's files, exactly (a trailing newline of the file is not kept).
    secret = secrets[f"bap-{service}"]
    assert settings.mongodb_url == secret["mongodb_url"]
    assert settings.amqp_url == secret["amqp_url"]
    assert settings.bus_prefix == Topology(settings.bus_prefix, service).prefix


def test_notifications_sends_through_a_relay_and_a_gateway_not_to_files(manifests, secrets,
                                                                         monkeypatch,
                                                                         tmp_path) -> None:
    settings = pod_settings(manifests, secrets, "notifications", "worker", monkeypatch,
                            tmp_path)
    # Without them the file transports write under var/, on a read-only file system.
    assert settings.smtp_host and settings.sms_gateway_url


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_stay_out_of_the_config_map_and_every_secret_key_is_a_setting(
        manifests, secrets, service) -> None:
    cls = settings_type(service)
    prefix = (cls.model_config.get("env_prefix") or "").lower()
    variables = {}
    for name, info in cls.model_fields.items():
        aliases = getattr(info.validation_alias, "choices", None)
        variable = (aliases[0] if aliases else f"{prefix}{name}").lower()
        variables[variable] = info
    secret_settings = {v for v, info in variables.items()
                       if info.annotation is SecretStr or v in ("mongodb_url", "amqp_url")}
    in_config = {k.lower() for k in config(manifests)}
    assert not secret_settings & in_config, "secrets belong in the Secret, not the ConfigMap"
    unknown = set(secrets[f"bap-{service}"]) - set(variables)
    assert not unknown, f"bap-{service} holds keys no setting reads: {sorted(unknown)}"
