"""Review H1 and L2 (imports) of issue 9 part 1: the crafted files of the attacker's review
are refused within a second of CPU of identity and of the children it reads files in, and
neither identity nor the child grows by 50 MB; a process reads a bounded number of files
and answers 503 past that; an upload that stops half-way leaves no held slot, no spent rows
and no stored rows behind."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile

import aiohttp
import pytest

from services.identity.domain.invitation_files import CSV, XLSX
from services.identity.handlers import Identity
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company
from tests.support.polling import eventually
from tests.support.uploads import NS as _NS
from tests.support.uploads import PKG as _PKG
from tests.support.uploads import REL as _REL
from tests.support.uploads import Usage, csv_of, xlsx_of

pytestmark = [pytest.mark.security, pytest.mark.identity_env(LOG_LEVEL="INFO")]

_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEADER = ('<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" '
           't="inlineStr"><is><t>role</t></is></c></row><row r="2"><c r="A2" t="inlineStr">'
           '<is><t>eva@example.com</t></is></c><c r="B2" t="inlineStr"><is><t>user</t></is>'
           '</c></row>')


def workbook(sheet_data: str, shared_strings: str | None = None) -> bytes:
    """A workbook of one sheet (``sheet_data`` after a header and one person), with a
    shared-strings part when given."""
    parts = {
        "[Content_Types].xml":
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPES}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPES}.worksheet'
            '+xml"/>' + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPES}.'
                         'sharedStrings+xml"/>' if shared_strings else "") + "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                       f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets><sheet name="S" '
                           'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/worksheet" '
            'Target="worksheets/sheet1.xml"/>' + (
                f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.'
                'xml"/>' if shared_strings else "") + "</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_NS}"><sheetData>{_HEADER}'
                                    f'{sheet_data}</sheetData></worksheet>',
    }
    if shared_strings:
        parts["xl/sharedStrings.xml"] = shared_strings
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def shared_strings_bomb(count: int) -> bytes:
    """``count`` one-letter shared strings: openpyxl reads them all before the first row."""
    return workbook("", f'<sst xmlns="{_NS}" count="{count}" uniqueCount="{count}">'
                        + "<si><t>a</t></si>" * count + "</sst>")


def column_z_rows(count: int) -> bytes:
    """``count`` rows holding one cell in column Z: blank for the import, each parsed."""
    return workbook("".join(f'<row><c r="Z{r}"><v>1</v></c></row>'
                            for r in range(3, count + 3)))


async def upload(http, url, who, data: bytes, content_type: str) -> tuple[int, dict, dict]:
    async with http.post(f"{url}/v1/invitation-jobs", data=data,
                         headers={**who.auth, "Content-Type": content_type}) as r:
        return r.status, await r.json(), dict(r.headers)


@pytest.mark.parametrize(("name", "make", "content_type", "slug"), [
    ("1.8 M shared strings in 75 KB", lambda: shared_strings_bomb(1_800_000), XLSX,
     "invitation-file-too-costly"),
    ("80 000 shared strings in 5 KB", lambda: shared_strings_bomb(80_000), XLSX,
     "invitation-file-too-costly"),
    ("700 000 rows with a cell in column Z", lambda: column_z_rows(700_000), XLSX,
     "invitation-file-too-costly"),
    ("25 000 rows with a cell in column Z", lambda: column_z_rows(25_000), XLSX,
     "invitation-file-too-many-lines"),
    ("5 MB of CSV lines holding a tab", lambda: b"email,role\n" + b"\t\n" * 2_600_000, CSV,
     "invitation-file-too-many-lines"),
    ("5 MB of CSV lines holding a quoted blank", lambda: b"email,role\n" + b'" ",\n'
     * 870_000, CSV, "invitation-file-too-many-lines"),
])
async def test_review_h1_a_crafted_file_is_refused_within_a_second_of_cpu_and_50_mb(
        identity_process, name, make, content_type, slug):
    """Each file of the review is answered 422 naming the rule, within one second of CPU of
    identity's whole process tree, with identity's peak memory growing < 50 MB and the
    child that read it (its own report of its kernel high-water mark) < 50 MB."""
    service, tap, http = identity_process
    admin = await register_company(http, service.url, tap)
    data = make()
    assert len(data) <= 5 * 1024 * 1024
    usage = Usage(service.proc.pid)
    peak_before, cpu_before = usage.peak_mb(), usage.cpu_seconds()
    status, answer, _ = await upload(http, service.url, admin, data, content_type)
    assert status == 422, answer
    assert answer["type"] == f"/problems/{slug}", answer
    assert usage.cpu_seconds() - cpu_before < 1.0, name
    assert usage.peak_mb() - peak_before < 50, name

    def read_report():
        lines = [x for x in service.log_lines() if x.get("event") == "invitation file read"]
        return lines[-1] if lines else None
    report = await eventually(read_report)
    assert report["refused"] == slug and report["peak_extra_mb"] < 50, report


async def test_review_h1_uploads_past_the_waiting_bound_get_503_with_retry_after(
        mongo_url, amqp_url, bus_prefix, unique):
    """One file read at a time and none waiting: of four companies uploading a 10 000-row
    file at once, the first is read and the others are told 503 with Retry-After (the wait
    queue was unbounded); a refused company uploads again afterwards and is accepted."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False,
            invitation_parses_per_process=1,
            invitation_parses_waiting_per_process=0) as (url, _), aiohttp.ClientSession() as http:
        admins = [await register_company(http, url, tap) for _ in range(4)]
        data = xlsx_of([["email", "role"]] + [[f"p{i}@example.com", "user"]
                                              for i in range(10_000)])
        answers = await asyncio.gather(*(upload(http, url, a, data, XLSX)
                                         for a in admins))
        statuses = sorted(status for status, _, _ in answers)
        assert statuses[0] == 202 and statuses[-1] == 503, statuses
        refused = [(a, answer, headers) for a, (status, answer, headers)
                   in zip(admins, answers, strict=False) if status == 503]
        admin, answer, headers = refused[0]
        assert answer["type"] == "/problems/invitation-parsers-busy"
        assert int(headers["Retry-After"]) > 0
        status, job, _ = await upload(http, url, admin, csv_of(["x@example.com"]), CSV)
        assert status == 202, job  # the refused upload held no import slot


async def test_review_l2_an_upload_whose_job_was_never_written_leaves_nothing_behind(
        mongo_url, amqp_url, bus_prefix, unique):
    """The job's write fails after the rows were counted and stored: the next upload of the
    company is accepted at once (slot freed), the day's rows were given back (a file of the
    whole daily allowance still passes), and none of the failed upload's rows remain."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False,
            invitation_rows_per_company_per_day=3) as (url, app), aiohttp.ClientSession() as http:
        admin = await register_company(http, url, tap)
        store = unit(app, Identity).store
        create = store.bulk_jobs.create

        async def crash(job):  # the write of the job fails (the database went away)
            raise ConnectionError("the database went away")
        store.bulk_jobs.create = crash
        emails = [f"l2-{i}@example.com" for i in range(3)]
        async with http.post(f"{url}/v1/invitation-jobs", data=csv_of(emails),
                             headers={**admin.auth, "Content-Type": CSV}) as r:
            assert r.status == 500
        store.bulk_jobs.create = create
        assert await store.invitation_job_rows.count_documents({}) == 0
        status, job, _ = await upload(http, url, admin, csv_of(emails), CSV)
        assert status == 202, job
        assert job["total_rows"] == 3


async def test_review_l2_an_upload_that_died_half_way_is_swept_when_its_slot_is_taken_over(
        mongo_url, amqp_url, bus_prefix, unique):
    """A process that died after storing some rows (no job, slot older than ten minutes):
    the company's next upload takes the slot over and the dead upload's rows are deleted."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False) as (url, app),
                aiohttp.ClientSession() as http):
        admin = await register_company(http, url, tap)
        rows = unit(app, Identity).store.invitation_job_rows
        dead = "dead-upload"
        await rows.insert_one({"_id": f"running-import:{admin.company_id}",
                               "job_id": dead, "row": 0, "claimed_ts": time.time() - 3600})
        await rows.insert_many([{"_id": f"{dead}:{r:07d}", "job_id": dead, "row": r,
                                 "values": {}, "errors": []} for r in range(2, 6)])
        status, job, _ = await upload(http, url, admin, csv_of(["z@example.com"]), CSV)
        assert status == 202, job
        assert await rows.count_documents({"job_id": dead}) == 0
