"""Fixtures every tier shares: where the infrastructure is, names no other test uses, spans
in memory, the in-memory bus, and identity and contracts started in the test's process.

`make test` starts the MongoDB emulator and checks RabbitMQ (scripts/infra.py) and passes
MONGODB_URL, AMQP_URL and a BUS_PREFIX unique to the run; each test adds its own suffix.

Where things live:
- fixtures shared by test modules are defined in conftest files only: here (every tier:
  ``identity``, ``contracts``, ``memory_bus``, ``db``...), and in the ``conftest.py`` of a tier
  for what only that tier uses (``integration/``: buses, a broker proxy, queues, the ops CLI,
  ``billing`` and ``company``; ``security/``: ``identity_process``, identity as a real process;
  ``e2e/``: ``platform``, the four services as real processes, and an SMTP server; ``unit/``:
  apps without infrastructure, the ``authority`` and a ``verifier``). A fixture only one
  module uses is there too, at the end of its tier's conftest, its docstring naming the
  module. A test module defines no fixture and never imports another test module.
- helpers are plain functions and classes in ``tests/support/``:
  ``polling.eventually`` — the one way to wait for something (no fixed sleeps as assertions);
  ``services.running`` — a service in the test's process (integration and security tests),
  ``processes.ServiceProcess``/``service_process``/``Platform`` — services as real processes
  (end-to-end tests); ``identity`` — identity started (``identity_running``) and driven over
  HTTP (register, log in, users, invitations); ``billing``, ``contracts``, ``notifications`` —
  each service's harness; ``tokens.TokenAuthority`` — the one issuer of test access tokens and
  their JWKS; ``events.EventTap`` — the platform's events as an outside system sees them;
  ``gateways`` (SMS gateway, SMTP mailbox), ``payment_provider``, ``uploads`` (import files),
  ``broker``, ``tcp_proxy``, ``browser``, ``monitoring``; and what single modules' fixtures
  build: ``http_apps`` (small apps of the kit's HTTP layer), ``deploy`` (deployment files),
  ``event_specs``, ``parked``, ``otlp``, ``drain``, ``support_desk``, ``recording_bus``.
- a test module sets the settings of the shared service fixtures with markers, e.g.
  ``pytestmark = [pytest.mark.integration, pytest.mark.identity_settings(sms_per_hour=5)]``
  (``contracts_settings`` for ``contracts``, ``identity_env`` for ``identity_process``,
  ``platform_env("<a fixture of e2e/conftest.py>")`` for ``platform``).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import aiohttp
import pytest

from shared import mongo
from tests.support.contracts import ContractsUnderTest
from tests.support.events import EventTap
from tests.support.identity import IdentityUnderTest, identity_running
from tests.support.services import running, settings_for
from tests.support.tokens import TokenAuthority


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "identity_settings(**settings): settings of the identity fixture's service")
    config.addinivalue_line(
        "markers", "contracts_settings(**settings): settings of the contracts fixture's service")
    config.addinivalue_line(
        "markers", "identity_env(**env): environment of the identity_process fixture's process "
        "(tests/security/conftest.py)")
    config.addinivalue_line(
        "markers", "platform_env(fixture): the fixture of tests/e2e/conftest.py whose settings "
        "the platform fixture adds to every service's environment")


def marked_settings(request: pytest.FixtureRequest, marker: str) -> dict[str, Any]:
    """The settings the test's (or its module's) ``marker`` gives, if any."""
    found = request.node.get_closest_marker(marker)
    return dict(found.kwargs) if found else {}


@pytest.fixture(scope="session")
def mongo_url() -> str:
    return os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27118")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def unique() -> str:
    """A short suffix no other test (or run) uses."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def bus_prefix(unique: str) -> str:
    return f"{os.environ.get('BUS_PREFIX', 'bap-test')}-{unique}"


@pytest.fixture
async def db(mongo_url: str, unique: str):
    """A database of the test's own, dropped afterwards."""
    client = mongo.connect(mongo_url)
    name = f"test_{unique}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest.fixture
def spans():
    """The kit's spans in memory (``shared.tracing.use``), for tests run in-process; what a
    test starts with ``spans.tracer`` is recorded too."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    exporter.tracer = provider.get_tracer("tests")
    exporter.provider = provider
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


@pytest.fixture
def memory_bus():
    """An event bus in memory (``shared.bus.InMemoryBus``): published events in
    ``memory_bus.published``, parked ones in ``memory_bus.parked``; ``await
    memory_bus.deliver_all()`` hands what is queued to the subscribed handlers."""
    from shared.bus import InMemoryBus

    return InMemoryBus("svc")


@pytest.fixture
async def identity(request: pytest.FixtureRequest, mongo_url: str, amqp_url: str,
                   bus_prefix: str, unique: str):
    """identity in this process on a free port, verifying its own tokens, with the settings
    of the test's ``identity_settings`` marker: ``url, app, tap, http = identity`` (a tap on
    every ``identity.#`` event, an HTTP session)."""
    settings = marked_settings(request, "identity_settings")
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap,
                identity_running(mongo_url, amqp_url, bus_prefix, unique, **settings)
                as (url, app),
                aiohttp.ClientSession() as http):
        yield IdentityUnderTest(url, app, tap, http)


@pytest.fixture
async def contracts(request: pytest.FixtureRequest, mongo_url: str, amqp_url: str,
                    bus_prefix: str, unique: str):
    """contracts in this process with identity's tokens played by a ``TokenAuthority`` and a
    tap on ``contracts.#``; three wrong one-time passwords unless the test's
    ``contracts_settings`` marker says otherwise."""
    from services.contracts.app import build
    from services.contracts.settings import ContractsSettings

    async with TokenAuthority.serving() as authority:
        settings = settings_for(ContractsSettings, mongo_url=mongo_url, amqp_url=amqp_url,
                                bus_prefix=bus_prefix, unique=unique,
                                jwks_url=authority.jwks_url,
                                **{"otp_max_attempts": 3,
                                   **marked_settings(request, "contracts_settings")})
        async with (running(build, settings) as server,
                    EventTap(amqp_url, bus_prefix, "contracts.#") as tap,
                    aiohttp.ClientSession() as http):
            yield ContractsUnderTest(server, authority, tap, amqp_url, bus_prefix, http)
