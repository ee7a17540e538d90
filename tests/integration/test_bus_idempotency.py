"""A message delivered twice has one effect, with either kind of idempotent consumer."""

from __future__ import annotations

import contextlib

import pytest
from pymongo.errors import DuplicateKeyError

from shared.bus import Subscription
from shared.events import EventData, make_event
from shared.mongo import Aggregates
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

CREDITED = "test.account.credited.v1"
OPENED = "test.account.opened.v1"


class Credited(EventData):
    account: str
    amount: int


class Opened(EventData):
    account: str


async def test_event_delivered_twice_has_one_effect(make_bus, db, consumed_ok):
    accounts = Aggregates(db, "accounts")
    cards = Aggregates(db, "cards")
    deliveries: dict[str, int] = {}

    async def credit(event, data: Credited) -> None:
        # Conditional update that records the event id on the aggregate it changes.
        deliveries[event.id] = deliveries.get(event.id, 0) + 1

        def apply(doc):
            doc["balance"] += data.amount
            return []

        await accounts.change({"_id": data.account}, apply, applied_event=event.id)

    async def open_card(event, data: Opened) -> None:
        # Insert with an id derived from the event: a duplicate key means "already done".
        deliveries[event.id] = deliveries.get(event.id, 0) + 1
        with contextlib.suppress(DuplicateKeyError):
            await cards.create({"_id": f"card-for-{event.id}", "account": data.account})

    await accounts.create({"_id": "acc-1", "balance": 0})
    consumer = await make_bus("ledger")
    consumer.subscribe([Subscription(CREDITED, Credited, credit),
                        Subscription(OPENED, Opened, open_card)])
    await consumer.start_consuming()

    credited = make_event(CREDITED, {"account": "acc-1", "amount": 25}, source="test")
    opened = make_event(OPENED, {"account": "acc-1"}, source="test")
    for envelope in (credited, opened, credited, opened):  # every event twice
        await consumer.publish(envelope)

    await eventually(lambda: deliveries.get(credited["id"]) == 2
                     and deliveries.get(opened["id"]) == 2,
                     message=lambda: f"both events delivered twice ({deliveries})")
    await eventually(lambda: consumed_ok(consumer, CREDITED) + consumed_ok(consumer, OPENED) == 4,
                     message="all four deliveries acknowledged")

    account = await accounts.get({"_id": "acc-1"})
    assert account["balance"] == 25
    assert account["applied_events"] == [credited["id"]]
    assert await cards.collection.count_documents({"account": "acc-1"}) == 1
