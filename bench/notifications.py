"""The notifications benchmark: events → emails accepted by an SMTP server, against raw
aiosmtplib sends to the same server in the same run.

baseline  ``aiosmtplib.send`` of a multipart email (subject, text, HTML; built per message
          with the platform's ``build_email``) straight to the SMTP server, a connection per
          message as ``aiosmtplib.send`` makes it, ``concurrency`` sends in flight.
platform  ``identity.password.changed.v1`` events published (with confirms) to the platform
          exchange, ``concurrency`` publishes in flight; the notifications worker (its real
          app, in this process) consumes them, records each delivery (claimed in that
          insert), renders the German template, sends it over its SMTP connections
          (``smtp_connections``, kept open) and records the outcome.

The SMTP server is aiosmtpd, served in this process's event loop on a free port, and
accepts everything. Latency of one message = SMTP server accepted its DATA − the producer
started it (the send, or the publish). Rate = N / (last accepted − first started). Both sides
use a database and broker objects of their own (dropped and deleted afterwards).
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiosmtplib
from aiohttp import web
from aiosmtpd.smtp import SMTP
from pymongo import monitoring

from bench import BenchConfig, register
from bench.support import (
    CommandTimings,
    CpuMeter,
    Recorder,
    delete_broker_objects,
    drive,
    machine,
    now_iso,
)
from services.notifications.app import build
from services.notifications.messages import render
from services.notifications.settings import NotificationsSettings
from services.notifications.transports import build_email
from shared import mongo
from shared.bus import Topology

EVENT_TYPE = "identity.password.changed.v1"
TARGET_RATIO = 0.7


class _Accepting:
    """aiosmtpd handler: each accepted message finishes the recorder entry of its recipient."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.started: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            started = self.started.get(rcpt)
            if self.recorder is not None and started is not None:
                self.recorder.finish(rcpt, started)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timeout(n: int) -> float:
    return 60.0 + n * 0.1


async def _baseline(cfg: BenchConfig, handler: _Accepting, port: int) -> dict[str, Any]:
    rendered = render("password_changed", "de", {
        "changed_at": "24. November 2026, 11:00 Uhr (MEZ)",
        "password_forgotten_link": "https://portal.example/password/forgotten"})

    async def phase(name: str, n: int) -> dict[str, Any]:
        recorder = Recorder(n)
        handler.recorder = recorder

        async def one(i: int) -> None:
            to = f"{name}-{i}@bench.example"
            message = build_email("Business Portal <no-reply@business.example>", to, rendered)
            handler.started[to] = recorder.start()
            await aiosmtplib.send(message.data, sender=message.sender,
                                  recipients=[message.recipient], hostname="127.0.0.1",
                                  port=port, timeout=30)
            recorder.produced_one()

        await drive(n, cfg.concurrency, one)
        recorder.producer_finished()
        await recorder.wait(_timeout(n))
        return recorder.summary()

    await phase("baseline-warmup", cfg.warmup)
    meter = CpuMeter(cfg.mongodb_url)
    meter.start()
    result = await phase("baseline", cfg.n)
    result["cpu"] = meter.stop()
    return result


async def _platform(cfg: BenchConfig, handler: _Accepting, port: int) -> dict[str, Any]:
    prefix = f"{cfg.bus_prefix}-notif-{uuid.uuid4().hex[:8]}"
    settings = NotificationsSettings(
        mongodb_url=cfg.mongodb_url, amqp_url=cfg.amqp_url, bus_prefix=prefix,
        database=f"bench_notifications_{uuid.uuid4().hex[:8]}", smtp_host="127.0.0.1",
        smtp_port=port, portal_base_url="https://portal.example",
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    timings = None
    if cfg.profile:  # every client made from here on reports its commands (costs some CPU)
        timings = CommandTimings()
        monitoring.register(timings)
    runner = web.AppRunner(build(settings, "worker"))
    await runner.setup()  # database, broker, consumers, relay: everything but an HTTP site
    connection = await aio_pika.connect(cfg.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"{prefix}.events",
                                                  aio_pika.ExchangeType.TOPIC, durable=True)

        async def phase(name: str, n: int) -> dict[str, Any]:
            recorder = Recorder(n)
            handler.recorder = recorder

            async def one(i: int) -> None:
                to = f"{name}-{i}@bench.example"
                envelope = {
                    "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bench",
                    "type": EVENT_TYPE, "time": datetime.now(UTC).isoformat(),
                    "datacontenttype": "application/json", "companyid": "c-bench",
                    "data": {"user_id": f"u-{i}", "company_id": "c-bench", "email": to,
                             "language": "de", "changed_at": datetime.now(UTC).isoformat()}}
                handler.started[to] = recorder.start()
                await exchange.publish(aio_pika.Message(
                    json.dumps(envelope).encode(), content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=envelope["id"],
                    type=EVENT_TYPE), routing_key=EVENT_TYPE)
                recorder.produced_one()

            await drive(n, cfg.concurrency, one)
            recorder.producer_finished()
            await recorder.wait(_timeout(n))
            return recorder.summary()

        await phase("platform-warmup", cfg.warmup)
        if timings is not None:
            timings.reset()
        meter = CpuMeter(cfg.mongodb_url)
        meter.start()
        result = await phase("platform", cfg.n)
        result["cpu"] = meter.stop()
        if timings is not None:
            result["mongodb_commands"] = timings.summary(cfg.n)
        return result
    finally:
        await connection.close()
        await runner.cleanup()
        client = mongo.connect(cfg.mongodb_url)
        await client.drop_database(settings.database_name)
        await client.close()
        t = Topology(prefix, settings.service_name)
        await delete_broker_objects(
            cfg.amqp_url, [t.queue, t.parked, *(t.retry(d) for d in settings.retry_delays)],
            [t.exchange, t.dead_exchange])


@register("notifications")
async def notifications_benchmark(cfg: BenchConfig) -> dict[str, Any]:
    handler = _Accepting()
    port = _free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="bench.local"),
                                      host="127.0.0.1", port=port)
    try:
        baseline = await _baseline(cfg, handler, port)
        platform = await _platform(cfg, handler, port)
    finally:
        server.close()
        await server.wait_closed()
    ratio = (platform["events_per_s"] / baseline["events_per_s"]
             if baseline["events_per_s"] else 0.0)
    return {
        "benchmark": "notifications",
        "n": cfg.n,
        "concurrency": cfg.concurrency,
        "warmup": cfg.warmup,
        "baseline": baseline,
        "platform": platform,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO and baseline["complete"] and platform["complete"],
        "machine": machine(),
        "measured_at": now_iso(),
    }


async def run(n: int) -> dict[str, Any]:
    """The benchmark on its own: ``asyncio.run(run(500))`` with MONGODB_URL etc. exported."""
    return await notifications_benchmark(BenchConfig.from_env(n=n, warmup=min(50, n)))


if __name__ == "__main__":
    import sys

    from shared.logging import configure_logging
    configure_logging("bench", "WARNING", "json")
    print(json.dumps(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 500)),
                     indent=2))
