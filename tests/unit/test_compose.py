"""docker-compose.yml, the Dockerfile and .dockerignore agree with the code.

Docker is not available here, so the file is checked by reading it: every dependency is
defined and healthy-gated, every service has a healthcheck, the four services are built from
the repository's Dockerfile and started as ``python -m services.<name> <role>``, published
ports are the ports the services listen on, MongoDB is a 7+ replica set, and RabbitMQ is a 4.x
release still in community support, with every queue argument whose default 4.x changed named
by the code.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from shared.bus import PARKING_ARGUMENTS, Topology, retry_queue_arguments, service_queue_arguments
from tests.support.deploy import COMPOSE, ROOT

pytestmark = pytest.mark.unit

APP_SERVICES = ("identity", "billing", "contracts", "notifications")
ROLES = ("api", "worker", "all")
# ARCHITECTURE.md, "Running": default HTTP ports.
DOCUMENTED_PORTS = {"identity": 8001, "billing": 8002, "contracts": 8003, "notifications": 8004}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def depends_on_of(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax: no condition at all
        return {name: {} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[int | None, int]]:
    """(published, container) pairs from short ("[ip:]host:container[/proto]") or long syntax."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            pairs.append((int(published) if published is not None else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        container = int(parts[-1])
        published = int(parts[-2]) if len(parts) >= 2 and parts[-2] else None
        pairs.append((published, container))
    return pairs


def settings_port_default(name: str) -> int | None:
    """``http_port`` default declared in services/<name>/settings.py, read without importing."""
    path = ROOT / "services" / name / "settings.py"
    if not path.is_file():
        return None
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == "http_port" and isinstance(node.value, ast.Constant):
            return int(node.value.value)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "http_port"
                                                for t in node.targets) \
                and isinstance(node.value, ast.Constant):
            return int(node.value.value)
    return None


def expected_port(name: str, service: dict[str, Any]) -> int:
    env = environment_of(service)
    configured = env.get(f"{name.upper()}_HTTP_PORT")
    if configured:
        return int(configured)
    return settings_port_default(name) or DOCUMENTED_PORTS[name]


# -- every service ---------------------------------------------------------------------------

def test_the_four_app_services_and_the_infrastructure_are_defined(services) -> None:
    missing = [n for n in (*APP_SERVICES, "mongo", "rabbitmq", "mailpit") if n not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_every_depends_on_target_is_a_defined_service(services) -> None:
    problems = [f"{name} depends on undefined service {target!r}"
                for name, service in services.items()
                for target in depends_on_of(service) if target not in services]
    assert not problems, "; ".join(problems)


def test_every_dependency_waits_for_a_healthy_target_with_a_healthcheck(services) -> None:
    problems = []
    for name, service in services.items():
        for target, spec in depends_on_of(service).items():
            if spec.get("condition") != "service_healthy":
                problems.append(f"{name} -> {target}: condition is {spec.get('condition')!r}, "
                                "expected 'service_healthy'")
            target_check = (services.get(target) or {}).get("healthcheck") or {}
            if not target_check.get("test") or target_check.get("disable"):
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no "
                                "healthcheck")
    assert not problems, "; ".join(problems)


def test_every_service_has_a_healthcheck(services) -> None:
    missing = [name for name, s in services.items()
               if not (s.get("healthcheck") or {}).get("test")
               or (s.get("healthcheck") or {}).get("disable")]
    assert not missing, f"services without a healthcheck: {missing}"


def test_no_dependency_cycles(services) -> None:
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for target in depends_on_of(services.get(name) or {}):
            visit(target, (*path, name))

    for name in services:
        visit(name, ())


# -- the app services ------------------------------------------------------------------------

@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_is_built_from_the_repository_dockerfile(services, name) -> None:
    build = services[name].get("build")
    assert build is not None, f"{name} has no 'build' (it should be built from the Dockerfile)"
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    path = (COMPOSE.parent / context / dockerfile).resolve()
    assert path.is_file(), f"{name} builds from {path}, which does not exist"
    assert path == (ROOT / "Dockerfile").resolve(), \
        f"{name} builds from {path}; all services share the repository's Dockerfile"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_command_runs_its_package_with_a_role(services, name) -> None:
    command = command_of(services[name])
    assert len(command) == 4 and command[:2] == ["python", "-m"], \
        f"{name}: command {command!r} is not 'python -m services.<name> <role>'"
    module, role = command[2], command[3]
    assert module == f"services.{name}", f"{name}: command runs {module!r}, not services.{name}"
    assert role in ROLES, f"{name}: role {role!r} is not one of {ROLES}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_command_module_exists_in_the_repository(services, name) -> None:
    module = command_of(services[name])[2:3] or [""]
    main = ROOT / Path(*module[0].split(".")) / "__main__.py"
    assert main.is_file(), f"{name}: {main.relative_to(ROOT)} does not exist, so " \
                           f"'python -m {module[0]}' cannot start"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_publishes_the_port_it_listens_on(services, name) -> None:
    port = expected_port(name, services[name])
    assert port == DOCUMENTED_PORTS[name], \
        f"{name} listens on {port}, the documented default is {DOCUMENTED_PORTS[name]}"
    pairs = published_ports(services[name])
    assert pairs, f"{name} publishes no ports"
    assert (port, port) in pairs, f"{name} listens on {port} but publishes {pairs}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_listens_on_all_interfaces(services, name) -> None:
    host = environment_of(services[name]).get(f"{name.upper()}_HTTP_HOST")
    assert host == "0.0.0.0", \
        f"{name}: {name.upper()}_HTTP_HOST is {host!r}; the default 127.0.0.1 is unreachable " \
        "from outside the container"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_healthcheck_asks_its_own_readiness_endpoint(services, name) -> None:
    test = " ".join(map(str, services[name]["healthcheck"]["test"]))
    port = expected_port(name, services[name])
    assert f"127.0.0.1:{port}/health/ready" in test, \
        f"{name}: healthcheck {test!r} does not request http://127.0.0.1:{port}/health/ready"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_mongo_and_rabbitmq(services, name) -> None:
    deps = depends_on_of(services[name])
    expected = {"mongo", "rabbitmq"} | ({"identity"} if name != "identity" else set())
    missing = expected - set(deps)
    assert not missing, f"{name} does not wait for {sorted(missing)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_points_at_the_compose_infrastructure(services, name) -> None:
    env = environment_of(services[name])
    for key, host in (("MONGODB_URL", "mongo"), ("AMQP_URL", "rabbitmq"), ("JWKS_URL", "identity")):
        assert host in env.get(key, ""), f"{name}: {key}={env.get(key)!r} does not name {host!r}"
    assert "replicaSet=" in env["MONGODB_URL"], \
        f"{name}: MONGODB_URL={env['MONGODB_URL']!r} does not name the replica set (replicaSet=)"


def test_notifications_sends_mail_to_mailpit(services) -> None:
    env = environment_of(services["notifications"])
    assert env.get("NOTIFICATIONS_SMTP_HOST") == "mailpit", \
        f"NOTIFICATIONS_SMTP_HOST is {env.get('NOTIFICATIONS_SMTP_HOST')!r}, expected 'mailpit'"
    assert env.get("NOTIFICATIONS_SMTP_PORT") == "1025", \
        f"NOTIFICATIONS_SMTP_PORT is {env.get('NOTIFICATIONS_SMTP_PORT')!r}, expected '1025'"


# -- MongoDB ---------------------------------------------------------------------------------

def test_mongo_is_version_7_or_later(services) -> None:
    image = services["mongo"].get("image", "")
    match = re.fullmatch(r"(?:[\w./-]+/)?mongo:(\d+)(?:\.[\w.-]+)?", image)
    assert match, f"mongo image {image!r} has no numeric version tag (expected e.g. mongo:7.0)"
    assert int(match.group(1)) >= 7, f"mongo image {image!r} is older than MongoDB 7"


def test_mongo_runs_as_the_replica_set_the_services_name(services) -> None:
    command = command_of(services["mongo"])
    assert "--replSet" in command, f"mongo command {command!r} does not start a replica set"
    name = command[command.index("--replSet") + 1]
    assert "--bind_ip_all" in command, f"mongo command {command!r} lacks --bind_ip_all"
    for app in APP_SERVICES:
        url = environment_of(services[app]).get("MONGODB_URL", "")
        assert f"replicaSet={name}" in url, \
            f"{app}: MONGODB_URL={url!r} does not name replica set {name!r}"


def test_mongo_healthcheck_initiates_the_replica_set(services) -> None:
    test = " ".join(map(str, services["mongo"]["healthcheck"]["test"]))
    assert "mongosh" in test and "rs.initiate" in test, \
        f"mongo healthcheck {test!r} does not initiate the replica set with mongosh"
    assert "mongo:27017" in test, \
        f"mongo healthcheck {test!r} does not name the member by its service name mongo:27017"


# -- RabbitMQ --------------------------------------------------------------------------------
# Community support covers only the newest minor series of the newest major: 4.2 when this was
# written (the tests run against the 3.10 of the development machines; both must work).
OLDEST_SUPPORTED_RABBITMQ = (4, 2)


def test_rabbitmq_is_a_4x_release_in_community_support(services) -> None:
    image = services["rabbitmq"].get("image", "")
    match = re.fullmatch(r"(?:[\w./-]+/)?rabbitmq:(\d+)\.(\d+)(?:\.\d+)?(?:-management)?", image)
    assert match, f"rabbitmq image {image!r} has no major.minor tag (expected rabbitmq:4.2-...)"
    version = (int(match.group(1)), int(match.group(2)))
    assert version[0] == 4 and version >= OLDEST_SUPPORTED_RABBITMQ, \
        f"rabbitmq image {image!r} is out of community support"


def test_every_queue_names_its_type_and_the_quorum_queue_its_delivery_limit() -> None:
    # RabbitMQ 4 changed two defaults: a vhost may make untyped queues quorum queues, and a
    # quorum queue without x-delivery-limit gets 20 deliveries. Neither may apply to us.
    t = Topology("bap", "billing")
    service = service_queue_arguments(t, delivery_limit=7)
    assert service["x-queue-type"] == "quorum" and service["x-delivery-limit"] == 7
    assert service["x-dead-letter-exchange"] == t.dead_exchange
    for delay in (1.0, 120.0):
        retry = retry_queue_arguments(t, delay)
        assert retry["x-queue-type"] == "classic"  # never counts deliveries
        assert retry["x-message-ttl"] == int(delay * 1000)
        assert retry["x-dead-letter-routing-key"] == t.queue
    assert PARKING_ARGUMENTS["x-queue-type"] == "classic"


# -- Dockerfile and .dockerignore ------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in (raw.strip() for raw in text.splitlines())
            if line and not line.startswith("#")]


def test_dockerfile_is_python_311_and_installs_the_locked_runtime_dependencies() -> None:
    instructions = dockerfile_instructions()
    base = [arg for op, arg in instructions if op == "FROM"]
    assert base and base[-1].startswith("python:3.11"), f"Dockerfile base image is {base}"
    copied = " ".join(arg for op, arg in instructions if op == "COPY")
    for needed in ("requirements/production.txt", "shared", "services"):
        assert needed in copied, f"Dockerfile does not COPY {needed}"
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "pip install" in runs and "--no-cache-dir" in runs and "--require-hashes" in runs, \
        "Dockerfile does not 'pip install --no-cache-dir --require-hashes' the locked file"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [arg.strip() for op, arg in dockerfile_instructions() if op == "USER"]
    assert users, "Dockerfile has no USER: the services would run as root"
    assert users[-1] not in ("root", "0", "0:0"), f"Dockerfile's last USER is {users[-1]!r}"


def test_dockerfile_exposes_every_service_port() -> None:
    exposed = {int(p.split("/")[0]) for op, arg in dockerfile_instructions() if op == "EXPOSE"
               for p in arg.split()}
    missing = set(DOCUMENTED_PORTS.values()) - exposed
    assert not missing, f"Dockerfile does not EXPOSE {sorted(missing)}"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    path = ROOT / ".dockerignore"
    assert path.is_file(), ".dockerignore is missing"
    entries = {line.strip().strip("/") for line in path.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    missing = {".venv", "var", ".git", "tests", "bench"} - entries
    assert not missing, f".dockerignore does not exclude {sorted(missing)}"
