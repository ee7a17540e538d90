"""identity: invitation imports of a 10 000-row XLSX file (the row cap), rows per second and
peak extra memory.

identity runs as its own process; this process uploads the file and reads identity's CPU
time and peak resident memory (VmHWM) from /proc before and after. identity reads an upload
in a child process (forked by a fork server it started), so the CPU is the whole tree's
(identity, its live descendants and the children they waited for), and the child's peak
extra memory is its own report in identity's log ("invitation file read"). Two phases: the
upload (the file streamed through openpyxl's read-only reader in the child, each row checked,
the rows stored, the job answered) and the whole import (every row invited: one invitation
aggregate and its event each).

Baseline, measured in the same run: openpyxl's read-only parsing of the same file alone
(values of every row, nothing else), in a fresh process of its own so that its peak memory
is its own. The ratio is identity's upload rows per CPU-second over the baseline's.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import BenchConfig, register
from bench.support import machine, now_iso
from shared import mongo
from shared.bus import Topology
from tests.support.broker import delete_topology
from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import SERVICES, ServiceProcess, free_port, platform_env

ROWS = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` and of its live descendants."""
    pids, ticks = [pid], 0
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                pids.extend(int(c) for c in children.split())
        except FileNotFoundError:
            continue  # ended meanwhile: in its parent's cutime once reaped
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines()
                if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def spreadsheet(rows: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["E-Mail", "Role", "Language", "First name", "Surname"])
    for i in range(rows):
        sheet.append([f"person{i}@example.com", "user", "de", "Anna", f"Kiss{i}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def baseline_main(path: str) -> None:
    """In a fresh process: parse the file with openpyxl read-only alone; print JSON."""
    import openpyxl

    pid = os.getpid()
    content = Path(path).read_bytes()
    peak_before, cpu_before, start = _peak_mb(pid), time.process_time(), time.perf_counter()
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    book.close()
    print(json.dumps({"rows": rows, "cpu_s": round(time.process_time() - cpu_before, 3),
                      "wall_s": round(time.perf_counter() - start, 3),
                      "peak_extra_mb": round(_peak_mb(pid) - peak_before, 1)}))


def _baseline(content: bytes) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        f.write(content)
        f.flush()
        out = subprocess.run([sys.executable, "-c", "import sys; from bench.imports import "
                              "baseline_main; baseline_main(sys.argv[1])", f.name],
                             capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout)


@register("imports")
async def invitation_imports(config: BenchConfig) -> dict[str, Any]:
    content = spreadsheet(ROWS)
    baseline = _baseline(content)
    unique = uuid.uuid4().hex[:8]
    prefix = f"{config.bus_prefix}-imports-{unique}"
    ports = {name: free_port() for name in SERVICES}
    env = platform_env(mongo_url=config.mongodb_url, amqp_url=config.amqp_url,
                       bus_prefix=prefix, db_prefix=f"bench_{unique}", ports=ports,
                       extra={"LOG_LEVEL": "INFO",
                              "IDENTITY_INVITATION_JOB_PROGRESS_EVERY": "500"})
    with tempfile.TemporaryDirectory() as tmp:
        service = ServiceProcess("identity", ports["identity"], env, Path(tmp) / "id.log")
        async with EventTap(config.amqp_url, prefix, "identity.registration.#") as tap:
            service.start()
            try:
                await service.wait_ready()
                async with aiohttp.ClientSession() as http:
                    result = await _measure(http, service, tap, content)
            finally:
                service.stop()
                client = mongo.connect(config.mongodb_url)
                await client.drop_database(f"bench_{unique}_identity")
                await client.close()
                await delete_topology(config.amqp_url, Topology(prefix, "identity"),
                                      [0.2, 0.5, 1.0])
    upload_per_cpu = ROWS / result["upload"]["cpu_s"]
    base_per_cpu = baseline["rows"] / baseline["cpu_s"]
    return {
        "benchmark": "imports", "at": now_iso(), "machine": machine(), "rows": ROWS,
        "file_bytes": len(content),
        "baseline_openpyxl_read_only": {
            **baseline, "rows_per_cpu_s": round(base_per_cpu)},
        "upload": {**result["upload"], "rows_per_s": round(ROWS / result["upload"]["wall_s"]),
                   "rows_per_cpu_s": round(upload_per_cpu)},
        "import": {**result["import"],
                   "rows_per_s": round(ROWS / result["import"]["wall_s"])},
        "ratio_upload_to_baseline_rows_per_cpu_s": round(upload_per_cpu / base_per_cpu, 3),
    }


async def _measure(http: aiohttp.ClientSession, service: ServiceProcess, tap: EventTap,
                   content: bytes) -> dict[str, Any]:
    pid = service.proc.pid
    admin = await register_company(http, service.url, tap)
    peak, cpu, start = _peak_mb(pid), _cpu_seconds(pid), time.perf_counter()
    async with http.post(f"{service.url}/v1/invitation-jobs", data=content,
                         headers={**admin.auth, "Content-Type": XLSX}) as r:
        job = await r.json()
        assert r.status == 202, job
    wall = time.perf_counter() - start
    upload_cpu, upload_peak = _cpu_seconds(pid) - cpu, _peak_mb(pid) - peak
    deadline = time.monotonic() + 10
    while not (read := [x for x in service.log_lines()
                        if x.get("event") == "invitation file read"]):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)  # the log line may still be in identity's buffer
    upload = {"wall_s": wall, "cpu_s": upload_cpu, "peak_extra_mb": upload_peak,
              "parser_cpu_s": read[-1]["cpu_seconds"] if read else -1,
              "parser_peak_extra_mb": read[-1]["peak_extra_mb"] if read else -1}
    while True:
        async with http.get(f"{service.url}/v1/invitation-jobs/{job['job_id']}",
                            headers=admin.auth) as r:
            report = await r.json()
        if report["status"] == "completed":
            break
        await asyncio.sleep(0.5)
    assert report["processed_rows"] == ROWS, report
    return {"upload": {k: round(v, 3) for k, v in upload.items()},
            "import": {"wall_s": round(time.perf_counter() - start, 2),
                       "cpu_s": round(_cpu_seconds(pid) - cpu, 2),
                       "peak_extra_mb": round(_peak_mb(pid) - peak, 1),
                       "invited": report["invited"]}}
