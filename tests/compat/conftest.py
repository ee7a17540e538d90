"""Fixtures of the compatibility suite: a collection of the test's own database, and the
stores test_aggregates.py writes through."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Aggregates, Index
from shared.relay import Relay
from tests.support.recording_bus import RecordingBus, relay_with


@pytest.fixture
def coll(db: AsyncDatabase) -> AsyncCollection:
    return db["things"]


@pytest.fixture
async def store(db: AsyncDatabase) -> Aggregates:
    """(test_aggregates.py) Aggregates with a unique email; ``woken`` counts its wake-ups."""
    woken: list[int] = []
    s = Aggregates(db, "aggregates", indexes=[Index.on("email", unique=True)],
                   on_events=lambda: woken.append(1))
    s.woken = woken  # type: ignore[attr-defined]
    await s.apply_indexes()
    return s


@pytest.fixture
async def handing_over(db: AsyncDatabase) -> tuple[Aggregates, Relay, RecordingBus]:
    """(test_aggregates.py) A store whose writes go to a relay (not started: tests call
    ``drain``)."""
    bus = RecordingBus()
    relay = relay_with(bus)
    s = Aggregates(db, "handed", on_events=relay.wake)
    await s.apply_indexes()
    relay.watch(s)
    return s, relay, bus
