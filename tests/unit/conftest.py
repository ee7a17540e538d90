"""Fixtures of the unit tier: real aiohttp apps on 127.0.0.1, a JWKS server, captured logs,
and the deployment files and documents single test modules read.

No database and no broker: apps are built with ``shared.http.new_app`` and served by aiohttp's
own ``TestServer``; tokens are signed by the tests' one ``TokenAuthority``
(``tests.support.tokens``), whose JWKS it serves itself.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import structlog
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.auth import TokenVerifier
from shared.events import build_asyncapi
from shared.logging import configure_logging
from tests.support.deploy import COMPOSE, K8S, SECRETS_EXAMPLE, load_all
from tests.support.event_specs import CATALOGUE_CHANGED, NUMBER_ISSUED, USER_INVITED
from tests.support.http_apps import account_app, thing_app
from tests.support.monitoring import load_dashboard, load_rules
from tests.support.tokens import AUDIENCE, ISSUER, TokenAuthority

Serve = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an app on a free local port and give a client for it; stopped after the test."""
    clients: list[TestClient] = []

    async def start(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
async def authority() -> AsyncIterator[TokenAuthority]:
    """identity's signing keys, with the JWKS served over HTTP on 127.0.0.1."""
    async with TokenAuthority.serving() as authority:
        yield authority


@pytest.fixture
async def verifier(authority: TokenAuthority) -> AsyncIterator[TokenVerifier]:
    """A verifier of the authority's tokens that may fetch the keys again at once."""
    verifier = TokenVerifier(authority.jwks_url, issuer=ISSUER, audience=AUDIENCE,
                             refetch_min_interval=0)
    yield verifier
    await verifier.close()


def dangling_refs(document: dict[str, Any]) -> list[str]:
    """Every local ``$ref`` in ``document`` whose JSON pointer leads nowhere."""
    def resolves(ref: str) -> bool:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return False
        return True

    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs, "the document holds no $ref at all: the walk would prove nothing"
    return [ref for ref in refs if not ref.startswith("#/") or not resolves(ref)]


@pytest.fixture
def unresolved_refs() -> Callable[[dict[str, Any]], list[str]]:
    """Walks a whole OpenAPI or AsyncAPI document and lists the ``$ref``s that do not resolve."""
    return dangling_refs


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``node``'s ``$ref`` (if any) inside ``document``."""
    seen: set[str] = set()
    while "$ref" in node:
        assert node["$ref"] not in seen, f"$ref cycle through {node['$ref']}"
        seen.add(node["$ref"])
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture
def follow() -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    """Follows a ``$ref`` inside a document (for asserting on what it points at)."""
    return resolve


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Configure the service's logging into a buffer; the function parses every line as JSON.

    Logging is global: the previous structlog and root-logger set-up is restored afterwards.
    """
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("unit-test", "INFO", "json", stream=stream)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


# -- fixtures one test module uses (named in the docstring) ---------------------------------

@pytest.fixture
async def api(serve: Serve, verifier: TokenVerifier) -> TestClient:
    """The billing-account app (test_auth.py), verifying tokens of ``authority``."""
    return await serve(account_app(verifier))


@pytest.fixture
async def client(serve: Serve) -> TestClient:
    """The things app (test_http.py)."""
    return await serve(thing_app())


@pytest.fixture
async def openapi(client: TestClient) -> dict[str, Any]:
    """The things app's OpenAPI document."""
    response = await client.get("/openapi.json")
    assert response.status == 200
    return await response.json()


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    """What `kubectl apply -k deploy/kubernetes` applies (the files kustomization lists;
    test_kubernetes.py)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs.extend(load_all(K8S / name))
    return docs


@pytest.fixture(scope="module")
def secrets() -> dict[str, dict[str, str]]:
    """The example Secret's files by Secret name (test_kubernetes.py)."""
    return {d["metadata"]["name"]: d.get("stringData") or {}
            for d in load_all(SECRETS_EXAMPLE) if d["kind"] == "Secret"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml (test_compose.py)."""
    assert COMPOSE.is_file(), f"{COMPOSE} is missing"
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), \
        "docker-compose.yml has no 'services' mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """docker-compose.yml's services by name (test_compose.py)."""
    return compose["services"]


@pytest.fixture(scope="module")
def rules() -> Any:
    """deploy/monitoring's alert rules (test_monitoring.py)."""
    return load_rules()


@pytest.fixture(scope="module")
def dashboard() -> Any:
    """deploy/monitoring's dashboard (test_monitoring.py)."""
    return load_dashboard()


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """The AsyncAPI document of three event types (test_events.py)."""
    return build_asyncapi([USER_INVITED, NUMBER_ISSUED, CATALOGUE_CHANGED], {
        "identity.user.invited.v1": ["notifications"],
        "crm.customer_number.issued.v1": ["contracts", "billing"],
    })
