"""Issue 9 parts 1 and 6: an invitation import costs what the file really contains (not what it
declares), a company runs one import at a time, and invitations are limited per company."""

from __future__ import annotations

import io
import os
import zipfile
from xml.sax.saxutils import escape

import aiohttp
import openpyxl
import pytest

from services.identity.domain.invitation_files import CSV, XLSX
from shared import mongo
from shared.bus import Topology
from tests.integration.test_identity_users import identity_app
from tests.support.broker import delete_topology
from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import SERVICES, ServiceProcess, free_port, platform_env
from tests.support.services import eventually

pytestmark = pytest.mark.security

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def minimal_xlsx(rows: list[list[str]], dimension: str, last_row: int | None = None) -> bytes:
    """The smallest workbook Excel and openpyxl open: one sheet of inline strings, declaring
    ``dimension``, with an empty row element at ``last_row``."""
    def cell(col: int, r: int, v: str) -> str:
        return f'<c r="{chr(65 + col)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
    body = "".join(f'<row r="{r}">' + "".join(cell(i, r, v) for i, v in enumerate(row))
                   + "</row>" for r, row in enumerate(rows, start=1))
    if last_row:
        body += f'<row r="{last_row}"/>'
    parts = {
        "[Content_Types].xml":
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
            'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-office'
            'document.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                       f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets><sheet name="S" '
                           'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_NS}"><dimension ref="{dimension}"/>'
                                    f'<sheetData>{body}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def xlsx_of(rows: list[list]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_of(emails: list[str]) -> bytes:
    return ("email,role\n" + "".join(f"{e},user\n" for e in emails)).encode()


class Usage:
    """CPU seconds and peak resident memory of a process, from /proc. The CPU is the whole
    tree's: identity reads uploads in children of a fork server it starts, so the process
    itself, its live descendants, and the children each of them has waited for."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(pid) for pid in _tree(self.pid)) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


def _tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        for task in os.listdir(f"/proc/{pids[i]}/task"):
            try:
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids.extend(int(c) for c in f.read().split())
            except FileNotFoundError:
                pass  # the thread ended meanwhile
        i += 1
    return pids


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime (the reaped children's)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0  # ended meanwhile: counted in its parent's cutime once reaped
    return sum(int(x) for x in fields[11:15])


@pytest.fixture
def identity_env() -> dict[str, str]:
    """Settings of ``identity_process`` (environment variables); a module may override."""
    return {}


@pytest.fixture
async def identity_process(mongo_url, amqp_url, bus_prefix, unique, tmp_path, identity_env):
    """identity as a process of its own, so its memory and CPU can be measured alone."""
    ports = {name: free_port() for name in SERVICES}
    env = platform_env(mongo_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                       db_prefix=f"sec_{unique}", ports=ports,
                       extra={"LOG_LEVEL": "INFO", **identity_env})
    service = ServiceProcess("identity", ports["identity"], env, tmp_path / "identity.log")
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap:
        service.start()
        try:
            await service.wait_ready()
            async with aiohttp.ClientSession() as http:
                yield service, tap, http
        finally:
            service.stop()
            client = mongo.connect(mongo_url)
            await client.drop_database(f"sec_{unique}_identity")
            await client.close()
            await delete_topology(amqp_url, Topology(bus_prefix, "identity"), [0.2, 0.5, 1.0])


async def test_a_crafted_spreadsheet_costs_identity_what_it_contains_not_what_it_declares(
        identity_process):
    """A 1.5 KB XLSX declaring 16 384 columns by 4 000 rows, and a CSV whose header has
    20 000 columns followed by blank lines: each is answered within a second of identity's
    CPU, and identity's peak memory grows by less than 50 MB."""
    service, tap, http = identity_process
    admin = await register_company(http, service.url, tap)
    usage = Usage(service.proc.pid)
    declared = minimal_xlsx([["email", "role"], ["eva@example.com", "user"]],
                            "A1:XFD4000", last_row=4000)
    assert len(declared) < 2048
    wide = ("email,role," + ",".join(f"c{i}" for i in range(20_000)) + "\n"
            + "\n" * 20_000).encode()
    peak_before = usage.peak_mb()
    for data, content_type, expected in ((wide, CSV, 422), (declared, XLSX, 202)):
        cpu_before = usage.cpu_seconds()
        async with http.post(f"{service.url}/v1/invitation-jobs", data=data,
                             headers={**admin.auth, "Content-Type": content_type}) as r:
            answer = await r.json()
            assert r.status == expected, answer
        assert usage.cpu_seconds() - cpu_before < 1.0, content_type
        if expected == 422:
            assert answer["type"] == "/problems/invitation-file-too-many-columns"
            assert answer["max_columns"] == 30
        else:
            assert answer["total_rows"] == 1
    assert usage.peak_mb() - peak_before < 50


async def test_a_real_10000_row_spreadsheet_still_imports_every_row(
        mongo_url, amqp_url, bus_prefix, unique):
    """The row cap stays usable: every one of 10 000 rows reaches the job's report."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_app(
            mongo_url, amqp_url, bus_prefix, unique, invitation_job_progress_every=500,
            invitation_job_poll_seconds=0.2) as (url, _), aiohttp.ClientSession() as http:
        admin = await register_company(http, url, tap)
        rows = [["E-Mail", "Role", "First name", "Surname"]] + [
            [f"person{i}@example.com", "user", "Anna", "Kiss"] for i in range(10_000)]
        async with http.post(f"{url}/v1/invitation-jobs", data=xlsx_of(rows), headers={
                **admin.auth, "Content-Type": XLSX}) as r:
            job = await r.json()
            assert r.status == 202, job
        assert job["total_rows"] == 10_000

        async def completed():
            async with http.get(f"{url}/v1/invitation-jobs/{job['job_id']}",
                                headers=admin.auth) as r:
                report = await r.json()
            return report if report["status"] == "completed" else None
        done = await eventually(completed, seconds=600, interval=1)
        assert (done["processed_rows"], done["invited"], done["failed"]) == (
            10_000, 10_000, 0)


async def test_a_company_runs_one_import_at_a_time_and_is_told_which(
        mongo_url, amqp_url, bus_prefix, unique):
    """A second upload while the first import is not completed gets 409 naming the running
    job; another company is not held up, and once the import completes the next one starts."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_app(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False) as (url, app):
        async with aiohttp.ClientSession() as http:
            a = await register_company(http, url, tap)
            b = await register_company(http, url, tap)

            async def upload(who, emails) -> tuple[int, dict]:
                async with http.post(f"{url}/v1/invitation-jobs", data=csv_of(emails),
                                     headers={**who.auth, "Content-Type": CSV}) as r:
                    return r.status, await r.json()
            status, first = await upload(a, ["one@example.com"])
            assert status == 202 and first["status"] == "queued"  # no runner here
            status, second = await upload(a, ["two@example.com"])
            assert status == 409, second
            assert second["type"] == "/problems/invitation-import-running"
            assert second["job_id"] == first["job_id"]
            status, other = await upload(b, ["three@example.com"])
            assert status == 202, other

            from services.identity.handlers import Identity
            from services.identity.import_runner import InvitationJobs
            from shared.app_keys import unit
            runner = InvitationJobs(unit(app, Identity))
            while await runner.work_once():
                pass
            status, next_one = await upload(a, ["two@example.com"])
            assert status == 202, next_one


async def test_an_import_larger_than_the_rows_left_today_is_refused_whole(
        mongo_url, amqp_url, bus_prefix, unique):
    """Imported rows per company per day: a file with more rows than are left is refused up
    front (429, Retry-After, the limit named) and invites nobody; another company may still
    import."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_app(
            mongo_url, amqp_url, bus_prefix, unique, invitation_rows_per_company_per_day=5,
            invitation_job_poll_seconds=0.2) as (url, _), aiohttp.ClientSession() as http:
        a = await register_company(http, url, tap)
        b = await register_company(http, url, tap)

        async def upload(who, emails) -> aiohttp.ClientResponse:
            r = await http.post(f"{url}/v1/invitation-jobs", data=csv_of(emails),
                                headers={**who.auth, "Content-Type": CSV})
            await r.read()
            return r
        r = await upload(a, [f"a{i}@example.com" for i in range(3)])
        assert r.status == 202
        job_id = (await r.json())["job_id"]

        async def completed():
            async with http.get(f"{url}/v1/invitation-jobs/{job_id}",
                                headers=a.auth) as r:
                return (await r.json())["status"] == "completed"
        await eventually(completed)
        r = await upload(a, [f"b{i}@example.com" for i in range(3)])
        problem = await r.json()
        assert r.status == 429, problem
        assert problem["limit"] == "invitation-rows-per-company-day"
        assert int(r.headers["Retry-After"]) > 0
        assert "3 rows" in problem["detail"]
        async with http.get(f"{url}/v1/invitations", headers=a.auth) as r:
            invited = {i["email"] for i in (await r.json())["items"]}
        assert not any(e.startswith("b") for e in invited)
        r = await upload(a, [f"c{i}@example.com" for i in range(2)])
        assert r.status == 202  # what is left can still be used
        r = await upload(b, [f"d{i}@example.com" for i in range(5)])
        assert r.status == 202


async def test_a_loop_of_single_invitations_is_stopped_per_company(
        mongo_url, amqp_url, bus_prefix, unique):
    """Invitations (and resends) per company per hour: past the limit 429 + Retry-After naming
    the limit, and no email is sent; another company still invites."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_app(
            mongo_url, amqp_url, bus_prefix, unique,
            invitations_per_company_per_hour=3) as (url, _), aiohttp.ClientSession() as http:
        a = await register_company(http, url, tap)
        b = await register_company(http, url, tap)

        async def invite(who, email) -> aiohttp.ClientResponse:
            r = await http.post(f"{url}/v1/invitations", headers=who.auth,
                                json={"email": email, "role": "user"})
            await r.read()
            return r
        sent = [await invite(a, f"loop{i}@example.com") for i in range(3)]
        assert [r.status for r in sent] == [201, 201, 201]
        r = await invite(a, "loop3@example.com")
        problem = await r.json()
        assert r.status == 429, problem
        assert problem["limit"] == "invitations-per-company-hour"
        assert int(r.headers["Retry-After"]) > 0
        first_id = (await sent[0].json())["invitation_id"]
        async with http.post(f"{url}/v1/invitations/{first_id}/resend",
                             headers=a.auth) as r:
            assert r.status == 429
        assert (await invite(b, "loop3@example.com")).status == 201
        await tap.wait_for("identity.invitation.sent.v1", email="loop3@example.com")
        sent_to = [e["data"]["email"] for e in tap.of("identity.invitation.sent.v1")]
        assert sent_to.count("loop3@example.com") == 1
        assert sent_to.count("loop0@example.com") == 1
