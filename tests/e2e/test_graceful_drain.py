"""Graceful drain (issue 10, part 3): SIGTERM on a notifications worker in the middle of a
burst loses nothing and sends nothing twice, and the process exits 0 within the grace period.

Two worker replicas as real processes share one queue and database; a real SMTP server
(aiosmtpd) keeps every message it accepts; 1 000 ``identity.password.changed.v1`` events (one
email each, to distinct recipients) are published while one replica is terminated. At that
moment the SMTP server is slow (it answers DATA after ``SLOW_SMTP_SECONDS``, as a provider
under load does): the sends in flight take longer than the old fixed 10 s wait, well within
the grace period.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter

import aio_pika
import pytest

from shared import mongo
from tests.support.drain import GRACE_SECONDS
from tests.support.polling import eventually
from tests.support.services import envelope

pytestmark = pytest.mark.e2e

EVENTS = 1000
def password_changed(i: int) -> dict:
    return envelope("identity.password.changed.v1", {
        "user_id": f"u-{i}", "company_id": "c-drain", "email": f"user{i}@drain.example",
        "language": "de", "changed_at": "2026-11-24T10:00:00Z"}, company_id="c-drain")


async def publish_burst(amqp_url: str, bus_prefix: str, events: list[dict]) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"{bus_prefix}.events",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)
        for start in range(0, len(events), 50):  # confirms awaited 50 at a time
            await asyncio.gather(*(exchange.publish(
                aio_pika.Message(json.dumps(e).encode(),
                                 content_type="application/cloudevents+json",
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                 message_id=e["id"]), routing_key=e["type"])
                for e in events[start:start + 50]))
    finally:
        await connection.close()


async def test_sigterm_mid_burst_sends_every_email_exactly_once_and_exits_cleanly(
        replicas, slowing_smtp, mongo_url, amqp_url, bus_prefix):
    (leaving, staying), database = replicas
    _, inbox = slowing_smtp
    events = [password_changed(i) for i in range(EVENTS)]
    burst = asyncio.create_task(publish_burst(amqp_url, bus_prefix, events))

    async def some_sent() -> bool:
        return len(inbox.messages) >= EVENTS // 5
    await eventually(some_sent, 60, 0.2, message="first emails")
    inbox.slow = True

    async def sends_in_flight() -> bool:
        return inbox.held >= 20
    await eventually(sends_in_flight, 30, 0.2, message="sends held by the slow SMTP server")
    assert leaving.proc is not None
    leaving.proc.send_signal(signal.SIGTERM)
    terminated_at = time.monotonic()
    inbox.slow = False  # what is held stays held; later messages are accepted at once

    async def exited() -> bool:
        return leaving.proc.poll() is not None
    await eventually(exited, GRACE_SECONDS + 10, 0.2, message="the terminated replica's exit")
    took = time.monotonic() - terminated_at
    await burst

    client = mongo.connect(mongo_url)
    try:
        deliveries = client[database]["deliveries"]

        async def all_recorded() -> bool:
            return await deliveries.count_documents({"status": "sent"}) >= EVENTS
        await eventually(all_recorded, 180, 0.2, message="every delivery recorded as sent")
        docs = await deliveries.find({}, {"attempts": 1, "status": 1}).to_list()
    finally:
        await client.close()

    ids = Counter(m["Message-ID"] for m in inbox.messages)
    recipients = Counter(m["To"] for m in inbox.messages)
    figures = {"published": EVENTS, "smtp_accepted": len(inbox.messages),
               "distinct_message_ids": len(ids), "stored_sent": len(docs),
               "duplicated": sum(n - 1 for n in ids.values()), "exit_code": leaving.proc.returncode,
               "exit_seconds": round(took, 2)}
    print("graceful drain figures:", figures)

    assert leaving.proc.returncode == 0, leaving.log_path.read_text()[-3000:]
    assert took < GRACE_SECONDS
    assert figures["duplicated"] == 0, [i for i, n in ids.items() if n > 1][:10]
    assert sorted(recipients) == sorted(f"user{i}@drain.example" for i in range(EVENTS))
    assert all(n == 1 for n in recipients.values())
    assert len(docs) == EVENTS
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["outcome"] == "sent"
               for d in docs)
    # Both replicas did part of the work: the one that stayed took over the rest.
    for w in (leaving, staying):
        assert '"message sent"' in w.log_path.read_text()
