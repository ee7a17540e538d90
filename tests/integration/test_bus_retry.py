"""A handler that keeps failing is retried with back-off, then parked with the reason."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.invoice.issued.v1"
DELAYS = [0.1, 0.2, 0.3]


class Issued(EventData):
    number: int


async def test_failing_handler_is_retried_with_backoff_then_parked_and_next_message_is_consumed(
        make_bus, amqp, get_all, queue_depth, consumed_ok):
    attempts: list[float] = []
    done: list[int] = []

    async def handle(event, data: Issued) -> None:
        if data.number == 1:
            attempts.append(time.monotonic())
            raise RuntimeError(f"ledger refused invoice {data.number}")
        done.append(data.number)

    bus = await make_bus("billing", retry_delays=DELAYS)
    bus.subscribe([Subscription(TYPE, Issued, handle)])
    await bus.start_consuming()

    bad = make_event(TYPE, {"number": 1}, source="test")
    await bus.publish(bad)
    parked_queue = bus.topology.parked
    await eventually(lambda: queue_depth(amqp, parked_queue), seconds=10,
                     message=lambda: f"the failing event parked ({len(attempts)} attempts)")

    assert len(attempts) == len(DELAYS) + 1
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    for gap, delay in zip(gaps, DELAYS, strict=True):
        assert gap >= delay, f"attempts spaced {gaps}, back-off {DELAYS}"

    [parked] = await get_all(amqp, parked_queue)
    headers = parked.headers
    assert headers["x-park-reason"] == "handler-failed"
    assert "RuntimeError: ledger refused invoice 1" in headers["x-park-detail"]
    assert headers["x-park-attempts"] == len(DELAYS) + 1
    assert headers["x-parked-by"] == "billing"
    assert parked.message_id == bad["id"]
    assert json.loads(parked.body) == bad  # the event itself, untouched

    good = make_event(TYPE, {"number": 2}, source="test")
    await bus.publish(good)
    await eventually(lambda: done == [2], message=lambda: f"the next event consumed ({done})")
    await eventually(lambda: consumed_ok(bus, TYPE) == 1, message="the next event acknowledged")
    assert len(attempts) == len(DELAYS) + 1  # no further attempt of the parked one
    for name in (bus.topology.queue, *(bus.topology.retry(d) for d in DELAYS)):
        assert await queue_depth(amqp, name) == 0, name
