"""Invitations (ID-11): an administrator invites one address or imports many from a CSV or
XLSX file, each with a role; each invitee gets a personal link (valid
``invitation_days``), sets name, phone and password, and the administrator sees the
invitation accepted. Invitations can be sent again (a new link; the old one stops working)
and withdrawn.

An import is a job: the upload stores its rows and answers at once; a background runner
(``InvitationJobs``, one per process, several processes share the work through a lease on
the job) invites row after row and writes its progress into the job every N rows. Each row's
invitation has an id made of the job id and the row number, so a job taken over after a
crash repeats no invitation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from services.identity import events
from services.identity.domain import invitations as inv
from services.identity.domain import users as rules
from services.identity.domain.errors import (EmailTaken, InvitationAccepted,
                                             InvitationExpired, InvitationInvalid,
                                             InvitationJobNotFound, InvitationNotFound,
                                             InvitationPending, InvitationRevoked,
                                             RoleNotAllowed)
from services.identity.domain.registration import normalise_email
from services.identity.domain.secrets import new_token, token_hash
from services.identity.handlers import (Identity, check_new_password, claim_login,
                                        company_policy, create_once, hash_password)
from services.identity.handlers.sessions import start_session
from services.identity.handlers.users import acting_user
from shared.errors import Problem
from shared.logging import get_logger

log = get_logger("identity.invitations")
MAX_PAGE = 200
ROW_BATCH = 500
# How many rejected rows a job lists (the counts stay exact beyond that).
REJECTED_ROWS_KEPT = 10_000


# -- who invites --------------------------------------------------------------------
async def _inviter(ctx: Identity, company_id: str, actor_id: str) -> dict:
    """What every invitation by this administrator needs to say."""
    actor = await acting_user(ctx, company_id, actor_id)
    if not rules.is_master(actor["roles"]) and "users:invite" not in actor.get(
            "permissions", []):
        raise RoleNotAllowed("Your role does not allow inviting users.")
    company = await ctx.store.companies.get({"_id": company_id}) or {}
    return {"actor": actor, "company_id": company_id,
            "company_name": company.get("name", ""),
            "company_language": company.get("language", "en"),
            "name": f"{actor['first_name']} {actor['surname']}".strip()}


def _sent_event(ctx: Identity, doc: dict, token: str, inviter_name: str,
                company_name: str) -> dict:
    return ctx.event(events.INVITATION_SENT, events.InvitationSent(
        invitation_id=doc["_id"], company_id=doc["company_id"], company_name=company_name,
        email=doc["email"], role=doc["role"], language=doc["language"],
        invited_by_name=inviter_name, token=token, expires_at=doc["expires_at"]),
        subject=doc["_id"], company_id=doc["company_id"])


async def _open_invitation(ctx: Identity, company_id: str, email: str,
                           other_than: str) -> dict | None:
    docs = await ctx.store.invitations.collection.find(
        {"company_id": company_id, "email": email, "status": "pending"}).to_list(20)
    now = datetime.now(UTC)
    return next((d for d in docs if d["_id"] != other_than and inv.status_of(d, now)
                 == "pending"), None)


async def _invite(ctx: Identity, inviter: dict, invitation_id: str, values: dict, *,
                  job_id: str | None = None, row: int | None = None) -> dict:
    """Create one invitation (or find the one this id already made) and send its link."""
    existing = await ctx.store.invitations.get({"_id": invitation_id,
                                                "company_id": inviter["company_id"]})
    if existing is not None:
        return existing
    email, role = normalise_email(values["email"]), values["role"]
    rules.check_may_invite(inviter["actor"], role)
    if await ctx.store.logins.find_one({"_id": f"email:{email}"}) is not None:
        raise EmailTaken("This address already has an account.")
    if await _open_invitation(ctx, inviter["company_id"], email, invitation_id):
        raise InvitationPending("This address has an open invitation; send that one again "
                                "instead (POST /v1/invitations/{id}/resend).")
    token = new_token()
    now = datetime.now(UTC)
    expires = now + timedelta(days=ctx.settings.invitation_days)
    doc = {"_id": invitation_id, "company_id": inviter["company_id"], "email": email,
           "role": role, "language": values.get("language") or inviter["company_language"],
           "first_name": values.get("first_name") or None,
           "surname": values.get("surname") or None, "status": "pending",
           "token_hash": token_hash(token), "expires_at": expires,
           "expires_ts": expires.timestamp(), "invited_by": inviter["actor"]["_id"],
           "parent_user_id": rules.parent_for(role, inviter["actor"]), "job_id": job_id,
           "row": row, "sent_count": 1, "created_at": now, "accepted_user_id": None,
           "accepted_at": None}
    if await create_once(ctx.store.invitations, doc, [_sent_event(
            ctx, doc, token, inviter["name"], inviter["company_name"])]):
        return doc
    return await ctx.store.invitations.get({"_id": invitation_id})


async def invite(ctx: Identity, company_id: str, actor_id: str, values: dict) -> dict:
    """One address with a role (ID-11)."""
    inviter = await _inviter(ctx, company_id, actor_id)
    return await _invite(ctx, inviter, str(uuid.uuid4()), values)


async def invitation_in_company(ctx: Identity, company_id: str, invitation_id: str) -> dict:
    doc = await ctx.store.invitations.get({"_id": invitation_id, "company_id": company_id})
    if doc is None:
        raise InvitationNotFound("No invitation with this id in your company.")
    return doc


async def list_invitations(ctx: Identity, company_id: str, *, status: str | None = None,
                           job_id: str | None = None, after: str | None = None,
                           limit: int = 50) -> tuple[list[dict], str | None]:
    """The company's invitations with their status (pending, accepted, revoked, expired)."""
    query: dict = {"company_id": company_id}
    now = time.time()
    if status in ("pending", "expired"):
        query["status"] = "pending"
        query["expires_ts"] = {"$gt": now} if status == "pending" else {"$lte": now}
    elif status:
        query["status"] = status
    if job_id:
        query["job_id"] = job_id
    if after:
        query["_id"] = {"$gt": after}
    limit = max(1, min(limit, MAX_PAGE))
    docs = await ctx.store.invitations.collection.find(query).sort("_id", 1).limit(
        limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1]["_id"] if more else None)


async def resend(ctx: Identity, company_id: str, actor_id: str, invitation_id: str) -> dict:
    """A new link (valid ``invitation_days`` again); the previous link stops working."""
    inviter = await _inviter(ctx, company_id, actor_id)
    doc = await invitation_in_company(ctx, company_id, invitation_id)
    rules.check_may_invite(inviter["actor"], doc["role"])
    token = new_token()
    expires = datetime.now(UTC) + timedelta(days=ctx.settings.invitation_days)

    def renew(d: dict) -> list:
        _check_open(d)
        d.update(token_hash=token_hash(token), expires_at=expires,
                 expires_ts=expires.timestamp(), sent_count=d.get("sent_count", 1) + 1)
        return [_sent_event(ctx, d, token, inviter["name"], inviter["company_name"])]
    return await ctx.store.invitations.change({"_id": invitation_id}, renew)


async def revoke(ctx: Identity, company_id: str, actor_id: str, invitation_id: str) -> dict:
    """Withdraw an invitation that was not accepted: its link stops working."""
    inviter = await _inviter(ctx, company_id, actor_id)
    doc = await invitation_in_company(ctx, company_id, invitation_id)
    rules.check_may_invite(inviter["actor"], doc["role"])

    def withdraw(d: dict) -> list:
        if d["status"] == "revoked":
            return []
        _check_open(d)
        if d.get("accepting_user_id"):
            raise InvitationAccepted("The invitation is being accepted right now: the person "
                                     "is setting up the account.")
        d.update(status="revoked", revoked_at=datetime.now(UTC),
                 revoked_by=inviter["actor"]["_id"])
        return []
    return await ctx.store.invitations.change({"_id": invitation_id}, withdraw)


def _check_open(d: dict) -> None:
    if d["status"] == "accepted":
        raise InvitationAccepted("The invitation was accepted already: the person has an "
                                 "account.")
    if d["status"] == "revoked":
        raise InvitationRevoked("The invitation was withdrawn. Invite the address again.")


async def _unreserve(ctx: Identity, invitation_id: str) -> None:
    def release(d: dict) -> list:
        if d["status"] != "accepted":
            d["accepting_user_id"] = None
        return []
    await ctx.store.invitations.change({"_id": invitation_id}, release)


# -- the invitee --------------------------------------------------------------------
async def invitation_by_token(ctx: Identity, token: str) -> dict:
    """The invitation a link names, if it can still be accepted."""
    doc = await ctx.store.invitations.get({"token_hash": token_hash(token)})
    if doc is None:
        raise InvitationInvalid("The invitation link is not valid (or a newer one was sent). "
                                "Check that you copied all of it.")
    status = inv.status_of(doc)
    if status == "accepted":
        raise InvitationAccepted("You accepted this invitation already: log in.")
    if status == "revoked":
        raise InvitationRevoked("The administrator withdrew this invitation.")
    if status == "expired":
        raise InvitationExpired("The invitation has expired. Ask your administrator to send "
                                "it again.")
    return doc


async def accept(ctx: Identity, token: str, form: dict) -> dict:
    """Create the invitee's account (its id comes from the invitation, so sending the form
    again after a failure finishes the same account), then mark the invitation accepted."""
    doc = await invitation_by_token(ctx, token)
    company_id = doc["company_id"]
    policy = await company_policy(ctx, company_id)
    await check_new_password(form["password"], policy=policy)
    user_id = rules.user_id_for(f"invitation:{doc['_id']}")
    email = doc["email"]

    def reserve(d: dict) -> list:
        # Serialised with a withdrawal by the version check: whichever comes first wins.
        _check_open(d)
        d["accepting_user_id"] = user_id
        return []
    await ctx.store.invitations.change({"_id": doc["_id"]}, reserve)
    try:
        await claim_login(ctx, f"email:{email}", user_id)
    except Exception:
        await _unreserve(ctx, doc["_id"])
        raise
    await claim_login(ctx, f"phone:{form['phone']}", user_id, required=False)
    user = {"_id": user_id, "company_id": company_id, "email": email,
            "emails": [{"address": email, "verified": True, "primary": True}],
            "username": None, "first_name": form["first_name"], "surname": form["surname"],
            "phone": form["phone"], "language": doc["language"], "roles": [doc["role"]],
            "permissions": [], "parent_user_id": doc.get("parent_user_id"),
            "status": "active", "password_hash": await hash_password(form["password"]),
            "password_history": [], "must_change_password": False,
            "created_at": datetime.now(UTC), "invitation_id": doc["_id"]}
    await create_once(ctx.store.users, user, [ctx.event(
        events.USER_ACTIVATED, events.UserActivated(
            user_id=user_id, company_id=company_id, email=email,
            first_name=user["first_name"], surname=user["surname"], roles=user["roles"],
            parent_user_id=user["parent_user_id"], language=user["language"]),
        subject=user_id, company_id=company_id)])

    def accepted(d: dict) -> list:
        if d["status"] == "accepted":
            return []
        d.update(status="accepted", accepted_user_id=user_id,
                 accepted_at=datetime.now(UTC))
        return [ctx.event(events.INVITATION_ACCEPTED, events.InvitationAccepted(
            invitation_id=d["_id"], company_id=company_id, user_id=user_id, email=email,
            role=d["role"]), subject=d["_id"], company_id=company_id)]
    await ctx.store.invitations.change({"_id": doc["_id"]}, accepted)
    stored = await ctx.store.users.get({"_id": user_id}) or user
    return {"user_id": user_id, "company_id": company_id,
            **await start_session(ctx, stored, ["pwd"])}


# -- imports ------------------------------------------------------------------------
async def create_job(ctx: Identity, company_id: str, actor_id: str, content: bytes,
                     kind: str, file_name: str | None) -> dict:
    """Check the file as a whole, store its rows and the job; the runner does the rest."""
    await _inviter(ctx, company_id, actor_id)
    rows = await asyncio.to_thread(inv.read_table, content, kind,
                                   ctx.settings.invitation_file_max_rows)
    job_id = str(uuid.uuid4())
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
            inviter = await _inviter(ctx, job["company_id"], job["created_by"])
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

    async def _invite_row(self, inviter: dict, job: dict, row: dict) -> list[dict]:
        try:
            await _invite(self.ctx, inviter, inv.invitation_id_for_row(job["_id"], row["row"]),
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
