"""Issue 9 parts 1 and 6: an invitation import costs what the file really contains (not what it
declares), a company runs one import at a time, and invitations are limited per company."""

from __future__ import annotations

import aiohttp
import pytest

from services.identity.domain.invitation_files import CSV, XLSX
from tests.support.events import EventTap
from tests.support.identity import identity_running, register_company
from tests.support.polling import eventually
from tests.support.uploads import Usage, csv_of, minimal_xlsx, xlsx_of

pytestmark = [pytest.mark.security, pytest.mark.identity_env(LOG_LEVEL="INFO")]

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
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
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
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False) as (url, app),
                aiohttp.ClientSession() as http):
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
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
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
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
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
