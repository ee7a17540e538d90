"""Two benchmarks across real service processes, each against its baseline in the same run.

``registration_email``  registration → verification email at a steady rate (open loop,
    ``RATE`` requests a second for ``SECONDS``, then ``SUSTAINED_RATE`` — one this machine
    keeps up with — for as long): identity and notifications as their own
    processes, notifications sending to an SMTP server (aiosmtpd) in this process. Latency of
    one = the email accepted by the SMTP server − the moment its request was due (so a slow
    answer delays the next ones' clocks not at all: no coordinated omission). Lost = emails
    never accepted within ``DRAIN_SECONDS`` after the last request. Baseline: the same
    measurement with notifications replaced by a consumer that does nothing but acknowledge
    (a quorum queue bound to ``identity.registration.started.v1``): latency up to the event
    reaching it.

``authenticated_read``  ``GET /v1/billing-account`` with a company administrator's token
    (billing as its own process: token check against identity's JWKS, role check, one
    MongoDB read, the response model) against a bare aiohttp process doing the same MongoDB
    read and answering the same JSON without any of the platform's kit. Closed loop,
    ``concurrency`` requests in flight; requests per second and per CPU-second of the
    serving process. Target: ≥ 0.5 of the bare rate.

The services run on production's relay poll interval (the tests' 0.5 s is overridden) and at
log level WARNING, as the identity benchmark does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Self

import aio_pika
import aiohttp
from aiosmtpd.smtp import SMTP

from bench import BenchConfig, register
from bench.support import machine, now_iso, percentile
from shared import mongo
from shared.bus import Topology
from shared.config import ServiceSettings
from tests.support.broker import delete_broker_objects, delete_topology
from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import ROOT, SERVICES, ServiceProcess, free_port, platform_env

RATE = 200.0
# A second steady rate, one this 2-core machine keeps up with end to end (at 200/s even the
# baseline's latency grows to seconds: identity, RabbitMQ, the emulator and this process share
# the two cores).
SUSTAINED_RATE = 30.0
SECONDS = 30.0
DRAIN_SECONDS = 30.0
READ_TARGET_RATIO = 0.5
REGISTRATION_EVENT = "identity.registration.started.v1"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Services:
    """Service processes of one phase: own databases, own bus prefix, all cleaned up."""

    def __init__(self, cfg: BenchConfig, names: tuple[str, ...],
                 extra: dict[str, str]) -> None:
        self.cfg, self.names = cfg, names
        self.unique = uuid.uuid4().hex[:10]
        self.prefix = f"{cfg.bus_prefix}-{self.unique}"
        ports = {s: (free_port() if s in names else 0) for s in SERVICES}
        poll = str(ServiceSettings().relay_poll_seconds)
        env = platform_env(
            mongo_url=cfg.mongodb_url, amqp_url=cfg.amqp_url, bus_prefix=self.prefix,
            db_prefix=f"bench_{self.unique}", ports=ports,
            extra={"LOG_LEVEL": "WARNING",
                   **{f"{s.upper()}_RELAY_POLL_SECONDS": poll for s in SERVICES}, **extra})
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        self.processes = {s: ServiceProcess(s, ports[s], env, out / f"flows-{s}.log")
                          for s in names}

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    async def __aenter__(self) -> Self:
        for p in self.processes.values():
            p.start()
        for p in self.processes.values():
            await p.wait_ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for p in self.processes.values():
            p.stop()
        client = mongo.connect(self.cfg.mongodb_url)
        for s in self.names:
            await client.drop_database(f"bench_{self.unique}_{s}")
        await client.close()
        for s in self.names:
            await delete_topology(self.cfg.amqp_url, Topology(self.prefix, s), [0.2, 0.5, 1.0])


# -- registration → verification email -----------------------------------------------------
class _Arrivals:
    """When each recipient's email (or event) arrived, by address."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()

    def arrived(self, address: str) -> None:
        self.at.setdefault(address.lower(), time.perf_counter())
        self.changed.set()

    async def wait_for(self, due: Iterable[str], seconds: float) -> None:
        """Until every address in ``due`` arrived, or ``seconds`` passed."""
        wanted = set(due)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not wanted <= self.at.keys():
                    self.changed.clear()
                    await self.changed.wait()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd
        for rcpt in envelope.rcpt_tos:
            self.arrived(rcpt)
        return "250 OK"


async def _steady_registrations(url: str, arrivals: _Arrivals, tag: str, rate: float,
                                seconds: float) -> dict[str, Any]:
    """POST /v1/registrations at ``rate`` a second for ``seconds``; then wait for arrivals."""
    due: dict[str, float] = {}
    failed = 0
    n = int(rate * seconds)
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200)) as http:
        async def one(address: str) -> None:
            nonlocal failed
            try:
                async with http.post(f"{url}/v1/registrations",
                                     json={"email": address, "language": "de"}) as r:
                    if r.status != 202:
                        failed += 1
            except aiohttp.ClientError:
                failed += 1

        tasks = []
        start = time.perf_counter()
        for i in range(n):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            address = f"{tag}-{i}@bench.example"
            due[address] = at
            tasks.append(asyncio.create_task(one(address)))
        sent_for = time.perf_counter() - start
        await asyncio.gather(*tasks)
    await arrivals.wait_for(due, DRAIN_SECONDS)
    latencies = [arrivals.at[a] - t for a, t in due.items() if a in arrivals.at]
    return {"requests": n, "rate_per_s": rate, "sent_in_s": round(sent_for, 2),
            "http_errors": failed, "arrived": len(latencies), "lost": n - len(latencies),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None}


async def _ack_only_consumer(cfg: BenchConfig, prefix: str, arrivals: _Arrivals,
                             stack: AsyncExitStack) -> None:
    """The baseline's consumer: a quorum queue on the identity events, ack and nothing else
    (the address is read from the event to match it with its request)."""
    queue_name = f"{prefix}.bench-ack-only"
    connection = await aio_pika.connect(cfg.amqp_url)
    stack.push_async_callback(delete_broker_objects, cfg.amqp_url, [queue_name], [])
    stack.push_async_callback(connection.close)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=ServiceSettings().prefetch)
    exchange = await channel.declare_exchange(f"{prefix}.events", aio_pika.ExchangeType.TOPIC,
                                              durable=True)
    queue = await channel.declare_queue(queue_name, durable=True,
                                        arguments={"x-queue-type": "quorum"})
    await queue.bind(exchange, routing_key=REGISTRATION_EVENT)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        arrivals.arrived(json.loads(message.body)["data"]["email"])
        await message.ack()

    await queue.consume(on_message)


@register("registration_email")
async def registration_email(cfg: BenchConfig) -> dict[str, Any]:
    limits = {"IDENTITY_REGISTRATIONS_PER_IP_PER_HOUR": str(10**7),
              "IDENTITY_REGISTRATIONS_PER_EMAIL_PER_HOUR": str(10**7)}
    results: dict[str, Any] = {}
    loop = asyncio.get_running_loop()
    for side in ("baseline", "platform"):
        arrivals = _Arrivals()
        smtp_port = free_port()
        server = await loop.create_server(lambda a=arrivals: SMTP(a, hostname="bench.local"),
                                          host="127.0.0.1", port=smtp_port)
        names = ("identity",) if side == "baseline" else ("identity", "notifications")
        extra = {**limits, "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                 "NOTIFICATIONS_SMTP_PORT": str(smtp_port)}
        try:
            async with AsyncExitStack() as stack:
                services = await stack.enter_async_context(_Services(cfg, names, extra))
                if side == "baseline":
                    await _ack_only_consumer(cfg, services.prefix, arrivals, stack)
                url = services["identity"].url
                await _steady_registrations(url, arrivals, f"{side}-warmup", 20.0, 2.0)
                results[side] = await _steady_registrations(url, arrivals, side, RATE,
                                                            SECONDS)
                await asyncio.sleep(5.0)  # the machine settles after the saturating rate
                results[f"{side}-sustained"] = await _steady_registrations(
                    url, arrivals, f"{side}-sustained", SUSTAINED_RATE, SECONDS)
        finally:
            server.close()
            await server.wait_closed()
    return {
        "benchmark": "registration_email",
        "what": "POST /v1/registrations at a steady rate → verification email accepted by "
                "SMTP (platform) or registration event acknowledged by a bare consumer "
                "(baseline)",
        "baseline_event_acknowledged": results["baseline"],
        "platform_email_sent": results["platform"],
        # the same measurement at a rate the machine sustains, after the one above
        "sustained": {"baseline_event_acknowledged": results["baseline-sustained"],
                      "platform_email_sent": results["platform-sustained"]},
        "machine": machine(),
        "measured_at": now_iso(),
    }


# -- authenticated read vs bare aiohttp --------------------------------------------------------
BARE_READ = '''
import json, sys
import uvloop  # the services' event loop (shared.service.new_event_loop)
from aiohttp import web
from pymongo import AsyncMongoClient

url, db, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = AsyncMongoClient(url, tz_aware=True)
accounts = client[db]["accounts"]

async def account(request):
    company = request.match_info["company"]
    doc = await accounts.find_one({"_id": company, "company_id": company})
    return web.json_response({"company_id": doc["company_id"], "status": doc["status"],
                              "opened_at": doc["opened_at"].isoformat(),
                              "active_payment_method_id": doc.get("active_method_id")})

app = web.Application()
app.router.add_get("/v1/billing-account/{company}", account)
web.run_app(app, loop=uvloop.new_event_loop(), host="127.0.0.1", port=port, print=None,
            access_log=None)
'''


async def _closed_loop(url: str, headers: dict[str, str], n: int, concurrency: int,
                       pid: int) -> dict[str, Any]:
    latencies: list[float] = []
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def worker(count: int) -> None:
            for _ in range(count):
                t = time.perf_counter()
                async with http.get(url, headers=headers) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t)

        await worker(50)  # warm-up
        latencies.clear()
        cpu0, start = _cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - start, _cpu_seconds(pid) - cpu0
    return {"n": len(latencies), "concurrency": concurrency,
            "per_s": round(len(latencies) / wall, 1),
            "per_server_cpu_s": round(len(latencies) / cpu, 1) if cpu else None,
            "server_cpu_ms_each": round(cpu / len(latencies) * 1000, 3),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2)}


def _start_bare(mongodb_url: str, database: str, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BARE_READ, mongodb_url, database, str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


@register("authenticated_read")
async def authenticated_read(cfg: BenchConfig) -> dict[str, Any]:
    n = max(1000, min(cfg.n, 5000))
    concurrency = min(cfg.concurrency, 16)
    async with _Services(cfg, ("identity", "billing"), {}) as services, \
            EventTap(cfg.amqp_url, services.prefix, "identity.#") as tap, \
            aiohttp.ClientSession() as http:
        account = await register_company(http, services["identity"].url, tap)
        billing = services["billing"]
        url = f"{billing.url}/v1/billing-account"
        deadline = time.monotonic() + 30
        while True:  # billing opens the account from identity's event
            async with http.get(url, headers=account.auth) as r:
                if r.status == 200:
                    break
            assert time.monotonic() < deadline, "billing opened no account"
            await asyncio.sleep(0.1)
        assert billing.proc is not None
        platform = await _closed_loop(url, account.auth, n, concurrency, billing.proc.pid)
        port = free_port()
        bare = _start_bare(cfg.mongodb_url, f"bench_{services.unique}_billing", port)
        try:
            bare_url = f"http://127.0.0.1:{port}/v1/billing-account/{account.company_id}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with http.get(bare_url) as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline and bare.poll() is None, "bare app down"
                await asyncio.sleep(0.1)
            baseline = await _closed_loop(bare_url, {}, n, concurrency, bare.pid)
        finally:
            bare.terminate()
            bare.wait(10)
    ratio = platform["per_s"] / baseline["per_s"] if baseline["per_s"] else 0.0
    cpu_ratio = (platform["per_server_cpu_s"] / baseline["per_server_cpu_s"]
                 if platform["per_server_cpu_s"] and baseline["per_server_cpu_s"] else None)
    return {
        "benchmark": "authenticated_read",
        "what": "GET /v1/billing-account (token, role, one MongoDB read, response model) vs "
                "a bare aiohttp handler doing the same read",
        "baseline_bare_aiohttp": baseline,
        "platform": platform,
        "ratio": round(ratio, 3),
        "ratio_per_server_cpu_s": round(cpu_ratio, 3) if cpu_ratio else None,
        "target_ratio": READ_TARGET_RATIO,
        "meets_target": ratio >= READ_TARGET_RATIO,
        "machine": machine(),
        "measured_at": now_iso(),
    }
