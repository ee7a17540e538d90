"""Invitation imports (ID-11): an administrator uploads a CSV or XLSX file of invitees.

An import is a job: the upload stores its rows and answers at once; a background runner
(``import_runner``, one per process, several processes share the work through a lease on
the job) invites row after row and writes its progress into the job every N rows. Each row's
invitation has an id made of the job id and the row number, so a job taken over after a
crash repeats no invitation.

What an upload may cost (issue 9): parsing grows with the cells really in the file (see
``domain.invitations.read_table``) and happens in a child process with CPU and memory limits
(``import_worker``); a process parses a bounded number of uploads at once and lets a bounded
number wait (503 past that); a company runs one import at a time (its slot is a document
whose _id names the company); its rows count whole against a daily limit per company before
the job exists. An upload that fails after that gives its rows back, deletes the rows it
stored, then frees the slot; when that cleanup itself fails, the slot stays held and whoever
takes it over later deletes the job's rows first (review L2).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from services.identity import import_worker
from services.identity.domain import invitation_files as inv
from services.identity.domain.commands import ImportInvitations, Invite, ReadImportJob
from services.identity.domain.errors import InvitationJobNotFound
from services.identity.domain.import_jobs import ImportJob, JobLost, RowOutcome
from services.identity.domain.invitations import Inviter, invitation_id_for_row
from services.identity.handlers import Identity
from services.identity.handlers.invitations import invite_once, inviter_for
from shared.errors import Conflict, Problem, Unavailable
from shared.logging import get_logger
from shared.ratelimit import DAY, Limit

log = get_logger("identity.invitations")
# A company's import slot whose job never came to exist (its process died while parsing)
# is free again after this long.
SLOT_ORPHANED_SECONDS = 600.0


async def create_job(cmd: ImportInvitations, ctx: Identity) -> ImportJob:
    """Check the file as a whole, store its rows and the job; the runner does the rest."""
    company_id, kind = cmd.company_id, cmd.kind
    await inviter_for(ctx, company_id, cmd.actor_id)
    job_id = str(uuid.uuid4())
    await _claim_import_slot(ctx, company_id, job_id)
    taken = 0
    try:
        rows = await parse_upload(ctx, cmd.content, kind)
        await _take_rows(ctx, company_id, len(rows))
        taken = len(rows)
        await ctx.import_rows.add(job_id, [r.to_doc() for r in rows])
        job = ImportJob.new(job_id=job_id, company_id=company_id, created_by=cmd.actor_id,
                            file_name=cmd.file_name, kind=kind, rows=len(rows),
                            now=datetime.now(UTC))
        await ctx.import_jobs.add(job)
    except BaseException:
        await _undo_upload(ctx, company_id, job_id, taken)
        raise
    ctx.import_uploaded.set()  # this process's runner starts on it at once
    return job


async def _undo_upload(ctx: Identity, company_id: str, job_id: str, rows_taken: int) -> None:
    """An upload that did not become a job: its rows back to the day's allowance, its stored
    rows deleted, then its slot freed. A failure here leaves the slot held: taken over once
    orphaned, and the takeover deletes the rows first."""
    try:
        if rows_taken:
            await ctx.limits.give_back(_rows_limit(ctx), company_id, rows_taken)
        await _delete_rows(ctx, job_id)
        await _release_import_slot(ctx, company_id, job_id)
    except Exception as e:
        log.warning("invitation upload not cleaned up", job_id=job_id, error=str(e)[:200])


async def _delete_rows(ctx: Identity, job_id: str) -> None:
    await ctx.import_rows.delete(job_id)


class ParsersBusy(Unavailable):
    slug, title = "invitation-parsers-busy", "Busy reading other files"


# Uploads of this process being parsed or waiting for a parser (all on the event loop).
_pending = 0
_PARSERS: dict[int, ThreadPoolExecutor] = {}


def _parsers(size: int) -> ThreadPoolExecutor:
    """The threads that wait for the parsing children: ``size`` children at once per
    process, the next uploads wait in the executor's queue (bounded by ``_pending``)."""
    size = max(1, size)
    if size not in _PARSERS:
        _PARSERS[size] = ThreadPoolExecutor(size, thread_name_prefix="invitation-import")
    return _PARSERS[size]


async def parse_upload(ctx: Identity, content: bytes, kind: str) -> list[inv.Row]:
    """The file's rows, read in a child process; 503 with Retry-After when this process
    already has ``invitation_parses_per_process`` files being read and
    ``invitation_parses_waiting_per_process`` waiting (the queue was unbounded)."""
    global _pending
    s = ctx.settings
    if _pending >= (max(1, s.invitation_parses_per_process)
                    + s.invitation_parses_waiting_per_process):
        raise ParsersBusy("Other files are being read right now; upload yours again in a few "
                          "seconds.", retry_after=max(1, round(s.invitation_parse_cpu_seconds)))
    loop = asyncio.get_running_loop()
    budget = import_worker.Budget(s.invitation_parse_cpu_seconds, s.invitation_parse_memory_mb)
    started: list[Any] = []
    _pending += 1
    future = _parsers(s.invitation_parses_per_process).submit(
        import_worker.parse, content, kind, s.invitation_file_max_rows,
        s.invitation_file_max_columns, budget, started)

    def done(_: object) -> None:
        global _pending
        _pending -= 1
    # Counted until the child is gone, also when the request was given up meanwhile.
    future.add_done_callback(lambda f: loop.call_soon_threadsafe(done, f))
    try:
        outcome = await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        for child in started:
            child.kill()  # the client left: its file is read no further
        raise
    log.info("invitation file read", format=kind, bytes=len(content),
             rows=len(outcome.rows) if outcome.rows is not None else None,
             refused=(outcome.problem or {}).get("slug"), killed=outcome.killed,
             cpu_seconds=round(outcome.cpu_seconds, 3),
             peak_extra_mb=round(outcome.peak_extra_mb, 1))
    return outcome.result()


async def start_parsers(ctx: Identity) -> None:
    """Start the fork server and read one tiny file through it: its imports (0.4 s of CPU)
    happen at startup, not in the first upload."""
    s = ctx.settings
    await asyncio.get_running_loop().run_in_executor(
        _parsers(s.invitation_parses_per_process), _try_parser,
        import_worker.Budget(s.invitation_parse_cpu_seconds, s.invitation_parse_memory_mb))


def _try_parser(budget: import_worker.Budget) -> None:
    import_worker.start()
    import_worker.parse(b"email,role\n", "csv", 1, 5, budget)


def _rows_limit(ctx: Identity) -> Limit:
    return Limit("invitation-rows-per-company-day",
                 ctx.settings.invitation_rows_per_company_per_day, DAY)


async def _take_rows(ctx: Identity, company_id: str, rows: int) -> None:
    limit = _rows_limit(ctx)
    await ctx.limits.check(limit, company_id, (
        f"The file has {rows} rows, more than your company may still import today (at most "
        f"{limit.limit} rows a day). Import it tomorrow, or a smaller file."), amount=rows)


class ImportRunning(Conflict):
    slug, title = "invitation-import-running", "An import of your company is running"


async def _claim_import_slot(ctx: Identity, company_id: str, job_id: str) -> None:
    """One import per company at a time: the slot (a document beside the rows) names the
    job holding it; a slot whose job finished, or never came to exist, is taken over."""
    for _ in range(3):
        if await ctx.import_rows.take_slot(company_id, job_id):
            return
        held = await ctx.import_rows.slot(company_id)
        if held is None:
            continue  # released meanwhile
        held_by, claimed_ts = held
        job = await ctx.import_jobs.get(held_by)
        running = (job is not None and job.status != "completed") or (
            job is None and time.time() - claimed_ts < SLOT_ORPHANED_SECONDS)
        if running:
            raise ImportRunning(
                "An import of your company is running; wait until it is completed (follow "
                f"it at /v1/invitation-jobs/{held_by}) and upload the next file then.",
                job_id=held_by)
        if job is None:  # its upload stopped half-way: the rows it stored go first
            await _delete_rows(ctx, held_by)
        await ctx.import_rows.free_slot(company_id, held_by)
    raise ImportRunning("Another import of your company is starting; try again shortly.")


async def _release_import_slot(ctx: Identity, company_id: str, job_id: str) -> None:
    await ctx.import_rows.free_slot(company_id, job_id)


async def job_in_company(cmd: ReadImportJob, ctx: Identity) -> ImportJob:
    job = await ctx.import_jobs.get(cmd.job_id, company_id=cmd.company_id)
    if job is None:
        raise InvitationJobNotFound("No invitation import with this id in your company.")
    return job


async def work_on_next_job(ctx: Identity, owner: str) -> bool:
    """Take one import nobody works on (its lease ran out) and finish it; False when there
    is none."""
    job = await ctx.import_jobs.take(owner)
    if job is None:
        return False
    try:
        await work_on(ctx, job, owner)
    except JobLost:
        log.info("invitation import taken over by another process", job_id=job.id)
    return True


async def work_on(ctx: Identity, job: ImportJob, owner: str) -> None:
    """Invite the job's rows from where it stopped, counting every N rows."""
    inviter: Inviter | None
    reason: dict[str, str] = {}  # why no row can be invited (inviter None)
    try:
        inviter = await inviter_for(ctx, job.company_id, job.created_by)
    except Problem as e:
        inviter, reason = None, {"field": "(job)", "rule": e.slug,
                                 "message": e.detail or e.title}
    every = max(1, ctx.settings.invitation_job_progress_every)
    last = job.last_row
    while batch := await ctx.import_rows.after(job.id, last, every):
        errors = await _invite_rows(ctx, inviter, reason, job, batch)
        await checkpoint(ctx, job.id, owner,
                         [RowOutcome(row.row, row.values, errors[row.row]) for row in batch])
        last = batch[-1].row
    await finish(ctx, job.id, owner)
    await ctx.import_rows.delete_all(job.id)
    await _release_import_slot(ctx, job.company_id, job.id)


async def _invite_rows(ctx: Identity, inviter: Inviter | None, reason: dict[str, str],
                       job: ImportJob, batch: list[RowOutcome]) -> dict[int, list[dict[str, str]]]:
    """What went wrong with each row of ``batch``, its rows invited
    ``invitation_job_rows_at_once`` at a time. No two of them race for one address: the
    parser refuses an address's later rows (``duplicate_in_file``), and refused rows are not
    invited. If one row fails unexpectedly the others are cancelled and the job is taken up
    again later from its last checkpoint; the rows already invited are found by their ids."""
    slots = asyncio.Semaphore(max(1, ctx.settings.invitation_job_rows_at_once))

    async def one(row: RowOutcome) -> list[dict[str, str]]:
        if row.errors or inviter is None:
            return row.errors or [reason]
        async with slots:
            return await _invite_row(ctx, inviter, job, row)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = {row.row: group.create_task(one(row)) for row in batch}
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None  # what one row at a time would have raised
    return {number: task.result() for number, task in tasks.items()}


async def _invite_row(ctx: Identity, inviter: Inviter, job: ImportJob,
                      row: RowOutcome) -> list[dict[str, str]]:
    try:
        values = row.values
        invitee = Invite(company_id=job.company_id, actor_id=job.created_by,
                         email=values["email"], role=values["role"],
                         language=values.get("language"), first_name=values.get("first_name"),
                         surname=values.get("surname"))
        await invite_once(ctx, inviter, invitation_id_for_row(job.id, row.row), invitee,
                          job_id=job.id, row=row.row)
        return []
    except Problem as e:
        return [{"field": "email" if e.slug != "role-not-allowed" else "role",
                 "rule": e.slug, "message": e.detail or e.title}]


async def checkpoint(ctx: Identity, job_id: str, owner: str,
                     outcomes: list[RowOutcome]) -> None:
    """Count a batch of rows and renew the lease, in one write of the job."""
    await ctx.import_jobs.count(job_id, owner, outcomes)


async def finish(ctx: Identity, job_id: str, owner: str) -> None:
    await ctx.import_jobs.change(job_id, lambda job: job.finish(owner, datetime.now(UTC)))
