"""A relay that dies after publishing but before removing the events: another relay publishes
them again once the lease has run out, and the idempotent consumer applies them once."""

from __future__ import annotations

import time

import pytest

from shared.bus import Subscription
from shared.events import EventData, make_event
from shared.metrics import Metrics
from shared.mongo import Aggregates
from shared.relay import Relay
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPE = "test.payment.received.v1"
LEASE = 1.0


class Received(EventData):
    account: str
    amount: int


class Crash(Exception):
    """The process dies here."""


class RelayDyingAfterPublish(Relay):
    async def _remove_published(self, store, _id, last_seq):
        raise Crash()


async def test_relay_dying_between_publish_and_removal_is_republished_after_lease_with_one_effect(
        make_bus, db):
    ledger = Aggregates(db, "ledger")
    await ledger.create({"_id": "acc-1", "balance": 0})
    deliveries: list[tuple[str, float]] = []

    async def credit(event, data: Received) -> None:
        deliveries.append((event.id, time.time()))

        def apply(doc):
            doc["balance"] += data.amount
            return []

        await ledger.change({"_id": data.account}, apply, applied_event=event.id)

    consumer = await make_bus("ledger")
    consumer.subscribe([Subscription(TYPE, Received, credit)])
    await consumer.start_consuming()

    payments = Aggregates(db, "payments")
    await payments.apply_indexes()
    event = make_event(TYPE, {"account": "acc-1", "amount": 40}, source="payments",
                       subject="pay-1")
    await payments.create({"_id": "pay-1", "amount": 40}, [event])

    dying = RelayDyingAfterPublish(await make_bus("payments"), Metrics("payments"),
                                   lease_seconds=LEASE)
    dying.watch(payments)
    with pytest.raises(Crash):
        await dying.drain()  # claims, publishes with confirms, dies before the removal
    doc = await payments.get({"_id": "pay-1"})
    assert doc["has_pending"] and doc["relay_owner"] == dying.owner
    lease_until = doc["relay_lease"]
    await eventually(lambda: len(deliveries) == 1, message="the first publication consumed")

    survivor = Relay(await make_bus("payments"), Metrics("payments"), poll_seconds=0.1,
                     lease_seconds=LEASE)
    survivor.watch(payments)
    await survivor.start()
    try:
        await eventually(lambda: len(deliveries) == 2, seconds=10,
                         message="the event published again by the surviving relay")
        await eventually(lambda: _published_and_removed(payments), message="events removed")
    finally:
        await survivor.stop()

    assert [d[0] for d in deliveries] == [event["id"], event["id"]]
    assert deliveries[1][1] >= lease_until, "republished before the lease ran out"
    account = await ledger.get({"_id": "acc-1"})
    assert account["balance"] == 40  # one effect for two deliveries
    assert account["applied_events"] == [event["id"]]


async def _published_and_removed(store: Aggregates) -> bool:
    doc = await store.get({"_id": "pay-1"})
    return not doc["has_pending"] and doc["pending_events"] == [] and doc["relay_owner"] == ""
