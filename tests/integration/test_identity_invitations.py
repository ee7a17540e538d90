"""Invitations (ID-11): one address or an import from CSV/XLSX with a role per row; the
invitee accepts with name, phone and password; the administrator sees the status."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import openpyxl
import pytest

from services.identity.domain.invitation_files import CSV, XLSX
from services.identity.handlers import Identity
from services.identity.handlers import invitation_imports as invitation_handlers
from services.identity.import_runner import InvitationJobs
from shared.app_keys import unit
from tests.support.events import EventTap
from tests.support.identity import INVITEE_PASSWORD as PASSWORD
from tests.support.identity import (
    accept,
    create_user,
    every_page,
    first_login,
    identity_running,
    link_token,
    register_company,
    wait_for_job,
)
from tests.support.polling import eventually
from tests.support.tokens import bearer

pytestmark = [pytest.mark.integration,
              pytest.mark.identity_settings(
                  invitation_job_progress_every=2, invitation_job_poll_seconds=0.2)]


async def invite(http, url, admin, email, role="user", expect=201) -> dict:
    async with http.post(f"{url}/v1/invitations", headers=admin.auth,
                         json={"email": email, "role": role}) as r:
        body = await r.json()
        assert r.status == expect, body
    return body


async def test_invitee_accepts_and_the_administrator_sees_the_invitation_accepted(identity):
    """ID-11: a personal link by email; the invitee sets name, phone and password, gets an
    account with the invited role and is logged in; the invitation shows accepted."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap, company_name="Muster GmbH")
    invitation = await invite(http, url, admin, "cili@example.com", role="billing_admin")
    assert invitation["status"] == "pending"
    sent = await tap.wait_for("identity.invitation.sent.v1",
                              invitation_id=invitation["invitation_id"])
    assert sent["data"]["company_name"] == "Muster GmbH"
    assert sent["data"]["invited_by_name"] == "Anna Muster" and sent["data"]["language"] == "de"
    token = sent["data"]["token"]
    async with http.post(f"{url}/v1/invitations/verification", json={"token": token}) as r:
        details = await r.json()
    assert details["email"] == "cili@example.com" and details["role"] == "billing_admin"
    session = await accept(http, url, token)
    assert session["status"] == "authenticated"
    async with http.get(f"{url}/v1/me", headers=bearer(session["access_token"])) as r:
        me = await r.json()
    assert me["roles"] == ["billing_admin"] and me["first_name"] == "Cili"
    assert me["phone"] == "+36301112233" and me["parent_user_id"] == admin.user_id
    activated = await tap.wait_for("identity.user.activated.v1", user_id=session["user_id"])
    assert activated["data"]["email"] == "cili@example.com"
    await tap.wait_for("identity.invitation.accepted.v1", user_id=session["user_id"])
    async with http.get(f"{url}/v1/invitations", params={"status": "accepted"},
                        headers=admin.auth) as r:
        listed = (await r.json())["items"]
    assert [(i["invitation_id"], i["accepted_user_id"]) for i in listed] == [
        (invitation["invitation_id"], session["user_id"])]
    await accept(http, url, token, expect=409)


async def test_resent_invitation_replaces_the_link_and_revoked_one_stops_working(identity):
    """ID-11: resend sends a new link (the old one stops working); revoking withdraws it."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    invitation = await invite(http, url, admin, "dani@example.com")
    iid = invitation["invitation_id"]
    old = await link_token(tap, iid)
    async with http.post(f"{url}/v1/invitations/{iid}/resend", headers=admin.auth) as r:
        assert r.status == 200 and (await r.json())["sent_count"] == 2
    new = await link_token(tap, iid, count=2)
    assert new != old
    async with http.post(f"{url}/v1/invitations/verification", json={"token": old}) as r:
        assert r.status == 404 and (await r.json())["type"] == "/problems/invitation-invalid"
    async with http.post(f"{url}/v1/invitations/{iid}/revocation", headers=admin.auth) as r:
        assert r.status == 200 and (await r.json())["status"] == "revoked"
    problem = await accept(http, url, new, expect=410)
    assert problem["type"] == "/problems/invitation-revoked"
    async with http.post(f"{url}/v1/invitations/{iid}/resend", headers=admin.auth) as r:
        assert r.status == 410


async def test_withdrawing_and_accepting_at_the_same_moment_never_both_succeed(identity):
    """ID-11: either the invitee gets the account (and the withdrawal is refused) or the
    invitation is withdrawn (and no account is made) — never an account from a withdrawn
    invitation."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    for n in range(3):
        invitation = await invite(http, url, admin, f"race{n}@example.com")
        iid = invitation["invitation_id"]
        token = await link_token(tap, iid)

        async def accepting(token: str = token) -> int:
            async with http.post(f"{url}/v1/invitations/acceptance", json={
                    "token": token, "first_name": "Cili", "surname": "Szabó",
                    "phone": "301112233", "password": PASSWORD}) as r:
                return r.status

        async def withdrawing(iid: str = iid) -> int:
            async with http.post(f"{url}/v1/invitations/{iid}/revocation",
                                 headers=admin.auth) as r:
                return r.status
        accepted, withdrawn = await asyncio.gather(accepting(), withdrawing())
        assert (accepted == 201) != (withdrawn == 200), (accepted, withdrawn)
        async with http.get(f"{url}/v1/invitations/{iid}", headers=admin.auth) as r:
            status = (await r.json())["status"]
        assert status == ("accepted" if accepted == 201 else "revoked")


async def test_invitation_link_expires_and_can_be_sent_again(mongo_url, amqp_url, bus_prefix,
                                                             unique):
    """ID-11: invitation links expire (`invitation_days`); the list shows them expired; a
    resend gives a working link."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, invitation_days=0) as (url, app),
                aiohttp.ClientSession() as http):
        admin = await register_company(http, url, tap)
        invitation = await invite(http, url, admin, "emese@example.com")
        iid = invitation["invitation_id"]
        problem = await accept(http, url, await link_token(tap, iid), expect=410)
        assert problem["type"] == "/problems/invitation-expired"
        async with http.get(f"{url}/v1/invitations", params={"status": "expired"},
                            headers=admin.auth) as r:
            assert [i["invitation_id"] for i in (await r.json())["items"]] == [iid]
        unit(app, Identity).settings.invitation_days = 14
        async with http.post(f"{url}/v1/invitations/{iid}/resend", headers=admin.auth) as r:
            assert r.status == 200 and (await r.json())["status"] == "pending"
        await accept(http, url, await link_token(tap, iid, count=2))


async def test_an_address_with_an_account_or_an_open_invitation_is_not_invited_twice(identity):
    """ID-11: clear conflicts instead of a second account or a second link."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    problem = await invite(http, url, admin, admin.email, expect=409)
    assert problem["type"] == "/problems/email-taken"
    await invite(http, url, admin, "feri@example.com")
    problem = await invite(http, url, admin, "FERI@example.com", expect=409)
    assert problem["type"] == "/problems/invitation-pending"


CSV_FILE = (
    "E-Mail;Role;Language;First name;Surname\n"
    "gabi@example.com;user;hu;Gabi;Kiss\n"
    "hedi@example.com;Billing Administrator;;;\n"
    "not-an-address;user;;;\n"
    "ivan@example.com;owner;;;\n"
    "GABI@example.com;user;;;\n"
    "\n"
    "jozsi@example.com;company_admin;xx;;\n"
    "kati@example.com;company_admin;en;;\n")


async def test_csv_import_invites_the_good_rows_and_reports_each_bad_row(identity):
    """ID-11: bulk invitations from CSV (multipart upload), a role per row; partial success
    with a report naming each bad row (spreadsheet row number), field and rule."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    form = aiohttp.FormData()
    form.add_field("file", CSV_FILE.encode(), filename="team.csv", content_type=CSV)
    async with http.post(f"{url}/v1/invitation-jobs", data=form, headers=admin.auth) as r:
        job = await r.json()
        assert r.status == 202, job
        assert r.headers["Location"] == f"/v1/invitation-jobs/{job['job_id']}"
    assert job["total_rows"] == 7 and job["file_name"] == "team.csv"
    done = await wait_for_job(http, url, admin, job["job_id"])
    assert (done["invited"], done["failed"], done["processed_rows"], done["progress"]) == (
        3, 4, 7, 1.0)
    report = {r["row"]: [(e["field"], e["rule"]) for e in r["errors"]]
              for r in done["rejected_rows"]}
    assert report == {4: [("email", "email")], 5: [("role", "role")],
                      6: [("email", "duplicate_in_file")], 8: [("language", "language")]}
    async with http.get(f"{url}/v1/invitations", params={"job_id": job["job_id"]},
                        headers=admin.auth) as r:
        invited = {i["email"]: (i["role"], i["language"], i["row"])
                   for i in (await r.json())["items"]}
    assert invited == {"gabi@example.com": ("user", "hu", 2),
                       "hedi@example.com": ("billing_admin", "de", 3),
                       "kati@example.com": ("company_admin", "en", 9)}
    for email in invited:
        await tap.wait_for("identity.invitation.sent.v1", email=email)


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_xlsx_import_as_raw_body_by_a_sub_admin_refuses_administrator_rows(identity):
    """ID-11 + ID-12: an Excel file sent as the body; a sub-administrator's import invites
    users and billing administrators, and reports rows asking for a company administrator."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    sub = await create_user(http, url, admin, role="sub_admin", permissions=["users:invite"])
    token = await first_login(http, url, tap, sub)
    body = xlsx([["email", "role", "first_name"],
                 ["lili@example.com", "user", "Lili"],
                 ["mari@example.com", "billing_admin", None],
                 ["nora@example.com", "company_admin", None]])
    async with http.post(f"{url}/v1/invitation-jobs", data=body,
                         headers={**bearer(token), "Content-Type": XLSX}) as r:
        job = await r.json()
        assert r.status == 202, job
    done = await wait_for_job(http, url, admin, job["job_id"])
    assert (done["invited"], done["failed"]) == (2, 1)
    assert done["rejected_rows"][0]["row"] == 4
    assert done["rejected_rows"][0]["errors"][0]["rule"] == "role-not-allowed"


async def test_files_that_can_not_be_imported_get_clear_problems(mongo_url, amqp_url,
                                                                 bus_prefix, unique):
    """ID-11: too large, too many rows, wrong type, missing columns, unreadable XLSX."""
    async with EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, invitation_file_max_bytes=2000,
            invitation_file_max_rows=3) as (url, _), aiohttp.ClientSession() as http:
        admin = await register_company(http, url, tap)

        async def upload(data: bytes, content_type: str) -> tuple[int, dict]:
            async with http.post(f"{url}/v1/invitation-jobs", data=data, headers={
                    **admin.auth, "Content-Type": content_type}) as r:
                return r.status, await r.json()

        status, p = await upload(b"email,role\n" + b"a@example.com,user\n" * 200, CSV)
        assert status == 413 and p["type"] == "/problems/invitation-file-too-large"
        many = "email,role\n" + "".join(f"p{i}@example.com,user\n" for i in range(4))
        status, p = await upload(many.encode(), CSV)
        assert status == 422 and p["type"] == "/problems/invitation-file-too-many-rows"
        status, p = await upload(b"email,role\n", "application/pdf")
        assert status == 415 and "text/csv" in p["detail"]
        status, p = await upload(b"E-Mail Address,Language\nx@example.com,de\n", CSV)
        assert status == 422 and p["missing_columns"] == ["role"]
        status, p = await upload(b"PK\x03\x04 not really a workbook", XLSX)
        assert status == 422 and p["type"] == "/problems/invitation-file-invalid"
        status, p = await upload(b"email,role\n", CSV)
        assert status == 422 and "nobody to invite" in p["detail"]


async def test_an_import_taken_over_after_a_crash_invites_every_row_exactly_once(
        mongo_url, amqp_url, bus_prefix, unique, monkeypatch):
    """ID-11: a replica stops in the middle of an import; another one takes the job over
    when its lease runs out and finishes it without inviting anyone twice."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False,
            invitation_job_progress_every=2, invitation_job_lease_seconds=0.5) as (url, app),
                aiohttp.ClientSession() as http):
        admin = await register_company(http, url, tap)
        emails = [f"row{i}@example.com" for i in range(5)]
        body = ("email,role\n" + "".join(f"{e},user\n" for e in emails)).encode()
        async with http.post(f"{url}/v1/invitation-jobs", data=body,
                             headers={**admin.auth, "Content-Type": CSV}) as r:
            job = await r.json()
        assert job["status"] == "queued"  # no runner in this process
        ctx = unit(app, Identity)
        real_checkpoint = invitation_handlers.checkpoint
        calls = []

        async def dies_at_second_checkpoint(*args):
            calls.append(args)
            if len(calls) == 2:  # rows 4 and 5 are invited, their count never written
                raise RuntimeError("replica stopped")
            await real_checkpoint(*args)
        monkeypatch.setattr(invitation_handlers, "checkpoint", dies_at_second_checkpoint)
        with pytest.raises(RuntimeError):
            await InvitationJobs(ctx, owner="first").work_once()
        monkeypatch.setattr(invitation_handlers, "checkpoint", real_checkpoint)
        async with http.get(f"{url}/v1/invitation-jobs/{job['job_id']}",
                            headers=admin.auth) as r:
            halfway = await r.json()
        assert (halfway["status"], halfway["processed_rows"]) == ("running", 2)
        second = InvitationJobs(ctx, owner="second")
        await eventually(second.work_once)
        done = await wait_for_job(http, url, admin, job["job_id"])
        assert (done["invited"], done["failed"], done["processed_rows"]) == (5, 0, 5)
        for email in emails:
            await tap.wait_for("identity.invitation.sent.v1", email=email)
        await asyncio.sleep(0.5)  # time for a duplicate to arrive, if there were one
        sent = [e["data"]["email"] for e in tap.of("identity.invitation.sent.v1")]
        assert sorted(sent) == sorted(emails)


async def test_no_invitation_endpoint_reaches_another_company(identity):
    """ID-11 tenant isolation: company B can not see, resend, withdraw or follow company A's
    invitations and imports."""
    url, _, tap, http = identity
    a = await register_company(http, url, tap)
    b = await register_company(http, url, tap)
    invitation = await invite(http, url, a, "olga@example.com")
    iid = invitation["invitation_id"]
    async with http.post(f"{url}/v1/invitation-jobs", data=b"email,role\nx@example.com,user\n",
                         headers={**a.auth, "Content-Type": CSV}) as r:
        job = await r.json()
    for method, path in (("GET", f"/v1/invitations/{iid}"),
                         ("POST", f"/v1/invitations/{iid}/resend"),
                         ("POST", f"/v1/invitations/{iid}/revocation"),
                         ("GET", f"/v1/invitation-jobs/{job['job_id']}")):
        async with http.request(method, f"{url}{path}", headers=b.auth) as r:
            assert r.status == 404, (path, await r.text())
    async with http.get(f"{url}/v1/invitations", headers=b.auth) as r:
        assert (await r.json())["items"] == []
    async with http.get(f"{url}/v1/invitations", params={"job_id": job["job_id"]},
                        headers=b.auth) as r:
        assert (await r.json())["items"] == []
    async with http.get(f"{url}/v1/invitations/{iid}", headers=a.auth) as r:
        assert r.status == 200 and (await r.json())["status"] == "pending"


async def test_administrator_lists_invitations_page_by_page_and_a_foreign_cursor_is_refused(
        identity):
    """The list pages by id with the platform's cursors; a cursor it did not issue is a 422
    naming query.cursor."""
    url, _, tap, http = identity
    admin = await register_company(http, url, tap)
    invited = {(await invite(http, url, admin, f"p{i}@example.com"))["invitation_id"]
               for i in range(3)}
    seen = await every_page(http, f"{url}/v1/invitations", admin.auth, "invitation_id")
    assert sorted(seen) == sorted(invited)
    async with http.get(f"{url}/v1/invitations", params={"cursor": sorted(invited)[0]},
                        headers=admin.auth) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "query.cursor"


async def test_an_import_whose_uploader_was_deactivated_reports_every_row_and_invites_nobody(
        mongo_url, amqp_url, bus_prefix, unique):
    """ID-11: the rows of an import are invited with the uploader's rights as they are when
    the job runs; an uploader deactivated meanwhile invites nobody, and each row says why."""
    async with (EventTap(amqp_url, bus_prefix, "identity.#") as tap, identity_running(
            mongo_url, amqp_url, bus_prefix, unique, jobs=False,
            invitation_job_progress_every=3) as (url, app),
                aiohttp.ClientSession() as http):
        admin = await register_company(http, url, tap)
        emails = [f"row{i}@example.com" for i in range(7)]
        body = ("email,role\n" + "".join(f"{e},user\n" for e in emails)).encode()
        async with http.post(f"{url}/v1/invitation-jobs", data=body,
                             headers={**admin.auth, "Content-Type": CSV}) as r:
            job = await r.json()
        ctx = unit(app, Identity)
        await ctx.users.change(admin.user_id, lambda user: user.deactivate())
        await eventually(InvitationJobs(ctx, owner="runner").work_once)
        async with http.get(f"{url}/v1/invitation-jobs/{job['job_id']}",
                            headers=admin.auth) as r:
            done = await r.json()
        assert (done["status"], done["invited"], done["failed"]) == ("completed", 0, 7)
        assert {(e["field"], e["rule"]) for row in done["rejected_rows"]
                for e in row["errors"]} == {("(job)", "account-inactive")}
        assert sorted(row["row"] for row in done["rejected_rows"]) == list(range(2, 9))
        assert tap.of("identity.invitation.sent.v1") == []
