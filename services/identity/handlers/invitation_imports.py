"""Invitation imports (ID-11): an administrator uploads a CSV or XLSX file of invitees.

An import is a job: the upload stores its rows and answers at once; a background runner
(``InvitationJobs``, one per process, several processes share the work through a lease on
the job) invites row after row and writes its progress into the job every N rows. Each row's
invitation has an id made of the job id and the row number, so a job taken over after a
crash repeats no invitation.

What an upload may cost (issue 9): parsing grows with the cells really in the file (see
``domain.invitations.read_table``); a process parses a bounded number of uploads at once; a
company runs one import at a time (its slot is a document whose _id names the company); its
rows count whole against a daily limit per company before the job exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pymongo import ReturnDocument

from services.identity.domain import invitations as inv
from services.identity.domain.errors import InvitationJobNotFound
from services.identity.handlers import Identity, is_duplicate
from services.identity.handlers.invitations import invite_once, inviter_for
from shared.errors import Conflict, Problem
from shared.logging import get_logger
from shared.ratelimit import DAY, Limit

log = get_logger("identity.invitations")
ROW_BATCH = 500
# How many rejected rows a job lists (the counts stay exact beyond that).
REJECTED_ROWS_KEPT = 10_000
# A company's import slot whose job never came to exist (its process died while parsing)
# is free again after this long.
SLOT_ORPHANED_SECONDS = 600.0


async def create_job(ctx: Identity, company_id: str, actor_id: str, content: bytes,
                     kind: str, file_name: str | None) -> dict:
    """Check the file as a whole, store its rows and the job; the runner does the rest."""
    await inviter_for(ctx, company_id, actor_id)
    job_id = str(uuid.uuid4())
    await _claim_import_slot(ctx, company_id, job_id)
    try:
        s = ctx.settings
        rows = await asyncio.get_running_loop().run_in_executor(
            _parsers(s.invitation_parses_per_process), inv.read_table, content, kind,
            s.invitation_file_max_rows, s.invitation_file_max_columns)
        await _take_rows(ctx, company_id, len(rows))
    except BaseException:
        await _release_import_slot(ctx, company_id, job_id)
        raise
    docs = [{"_id": f"{job_id}:{r.row:07d}", "job_id": job_id, **r.to_doc()} for r in rows]
    for start in range(0, len(docs), ROW_BATCH):
        await ctx.store.invitation_job_rows.insert_many(docs[start:start + ROW_BATCH])
    job = {"_id": job_id, "company_id": company_id, "created_by": actor_id,
           "file_name": (file_name or "")[:200] or None, "format": kind, "status": "queued",
           "total_rows": len(rows), "processed_rows": 0, "invited": 0, "failed": 0,
           "last_row": 0, "rejected_rows": [], "created_at": datetime.now(UTC),
           "finished_at": None, "lease_until": 0.0, "lease_owner": ""}
    await ctx.store.bulk_jobs.create(job)
    return job


_PARSERS: dict[int, ThreadPoolExecutor] = {}


def _parsers(size: int) -> ThreadPoolExecutor:
    """The threads uploads are parsed in: at most ``size`` at once per process, the others
    wait in the executor's queue (parsing holds the GIL, more threads would only share it)."""
    size = max(1, size)
    if size not in _PARSERS:
        _PARSERS[size] = ThreadPoolExecutor(size, thread_name_prefix="invitation-import")
    return _PARSERS[size]


async def _take_rows(ctx: Identity, company_id: str, rows: int) -> None:
    limit = Limit("invitation-rows-per-company-day",
                  ctx.settings.invitation_rows_per_company_per_day, DAY)
    await ctx.limits.check(limit, company_id, (
        f"The file has {rows} rows, more than your company may still import today (at most "
        f"{limit.limit} rows a day). Import it tomorrow, or a smaller file."), amount=rows)


def _slot_id(company_id: str) -> str:
    return f"running-import:{company_id}"


class ImportRunning(Conflict):
    slug, title = "invitation-import-running", "An import of your company is running"


async def _claim_import_slot(ctx: Identity, company_id: str, job_id: str) -> None:
    """One import per company at a time: the slot (a document beside the rows) names the
    job holding it; a slot whose job finished, or never came to exist, is taken over."""
    rows = ctx.store.invitation_job_rows
    slot = {"_id": _slot_id(company_id), "job_id": job_id, "row": 0,
            "claimed_ts": time.time()}
    for _ in range(3):
        try:
            await rows.insert_one(slot)
            return
        except Exception as e:
            if not is_duplicate(e):
                raise
        held = await rows.find_one({"_id": slot["_id"]})
        if held is None:
            continue  # released meanwhile
        job = await ctx.store.bulk_jobs.get({"_id": held["job_id"]})
        running = (job is not None and job["status"] != "completed") or (
            job is None and time.time() - held["claimed_ts"] < SLOT_ORPHANED_SECONDS)
        if running:
            raise ImportRunning(
                "An import of your company is running; wait until it is completed (follow "
                f"it at /v1/invitation-jobs/{held['job_id']}) and upload the next file then.",
                job_id=held["job_id"])
        await rows.delete_one({"_id": slot["_id"], "job_id": held["job_id"]})
    raise ImportRunning("Another import of your company is starting; try again shortly.")


async def _release_import_slot(ctx: Identity, company_id: str, job_id: str) -> None:
    await ctx.store.invitation_job_rows.delete_one({"_id": _slot_id(company_id),
                                                    "job_id": job_id})


async def job_in_company(ctx: Identity, company_id: str, job_id: str) -> dict:
    job = await ctx.store.bulk_jobs.get({"_id": job_id, "company_id": company_id})
    if job is None:
        raise InvitationJobNotFound("No invitation import with this id in your company.")
    return job


class JobLost(Exception):
    """Another process took the job over (this one was too slow to renew its lease)."""


class InvitationJobs:
    """Works through invitation imports in the background: woken by an upload in this
    process, and every ``invitation_job_poll_seconds`` looking for imports whose process
    stopped (their lease ran out)."""

    def __init__(self, ctx: Identity, owner: str | None = None) -> None:
        self.ctx = ctx
        self.owner = owner or uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        task = asyncio.create_task(self._loop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                while await self.work_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database is away: try again later
                log.warning("invitation import paused", error=str(e)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       self.ctx.settings.invitation_job_poll_seconds)
            self._wake.clear()

    async def _claim(self) -> dict | None:
        now = time.time()
        return await self.ctx.store.bulk_jobs.collection.find_one_and_update(
            {"status": {"$in": ["queued", "running"]}, "lease_until": {"$lt": now}},
            {"$set": {"status": "running", "lease_owner": self.owner,
                      "lease_until": now + self.ctx.settings.invitation_job_lease_seconds},
             "$inc": {"version": 1}}, return_document=ReturnDocument.AFTER)

    async def work_once(self) -> bool:
        """Take one import nobody works on and finish it; False when there is none."""
        job = await self._claim()
        if job is None:
            return False
        try:
            await self.process(job)
        except JobLost:
            log.info("invitation import taken over by another process", job_id=job["_id"])
        return True

    async def process(self, job: dict) -> None:
        ctx = self.ctx
        try:
            inviter = await inviter_for(ctx, job["company_id"], job["created_by"])
        except Problem as e:
            inviter, reason = None, {"field": "(job)", "rule": e.slug,
                                     "message": e.detail or e.title}
        every = max(1, ctx.settings.invitation_job_progress_every)
        last = job["last_row"]
        while True:
            batch = await ctx.store.invitation_job_rows.find(
                {"job_id": job["_id"], "row": {"$gt": last}}).sort("row", 1).limit(
                every).to_list()
            if not batch:
                break
            outcomes = []
            for row in batch:
                errors = row["errors"] or ([reason] if inviter is None else
                                           await self._invite_row(inviter, job, row))
                outcomes.append((row, errors))
            await checkpoint(ctx, job["_id"], self.owner, outcomes)
            last = batch[-1]["row"]
        await finish(ctx, job["_id"], self.owner)
        await ctx.store.invitation_job_rows.delete_many({"job_id": job["_id"]})
        await _release_import_slot(ctx, job["company_id"], job["_id"])

    async def _invite_row(self, inviter: dict, job: dict, row: dict) -> list[dict]:
        try:
            await invite_once(self.ctx, inviter,
                              inv.invitation_id_for_row(job["_id"], row["row"]),
                              row["values"], job_id=job["_id"], row=row["row"])
            return []
        except Problem as e:
            return [{"field": "email" if e.slug != "role-not-allowed" else "role",
                     "rule": e.slug, "message": e.detail or e.title}]


async def checkpoint(ctx: Identity, job_id: str, owner: str,
                     outcomes: list[tuple[dict, list[dict]]]) -> None:
    """Count a batch of rows and renew the lease, in one write of the job."""
    def apply(d: dict) -> list:
        if d["lease_owner"] != owner:
            raise JobLost()
        for row, errors in outcomes:
            if row["row"] <= d["last_row"]:
                continue
            d["processed_rows"] += 1
            if errors:
                d["failed"] += 1
                if len(d["rejected_rows"]) < REJECTED_ROWS_KEPT:
                    d["rejected_rows"].append({"row": row["row"],
                                               "email": row["values"].get("email", ""),
                                               "errors": errors})
            else:
                d["invited"] += 1
            d["last_row"] = row["row"]
        d["lease_until"] = time.time() + ctx.settings.invitation_job_lease_seconds
        return []
    await ctx.store.bulk_jobs.change({"_id": job_id}, apply)


async def finish(ctx: Identity, job_id: str, owner: str) -> None:
    def apply(d: dict) -> list:
        if d["lease_owner"] != owner:
            raise JobLost()
        d.update(status="completed", finished_at=datetime.now(UTC), lease_until=0.0)
        return []
    await ctx.store.bulk_jobs.change({"_id": job_id}, apply)
