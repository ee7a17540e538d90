"""Fixtures every tier shares: where the infrastructure is, and names no other test uses.

`make test` starts the MongoDB emulator and checks RabbitMQ (scripts/infra.py) and passes
MONGODB_URL, AMQP_URL and a BUS_PREFIX unique to the run; each test adds its own suffix.
"""

from __future__ import annotations

import os
import uuid

import pytest

from shared import mongo


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
