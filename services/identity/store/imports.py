"""Invitation imports: the jobs' repository (``bulk_jobs``, taken by one runner at a time
through the kit's ``Lease``) and the rows waiting to be invited (``invitation_job_rows``),
beside which each company's import slot is kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.identity.domain.import_jobs import ImportJob, RowOutcome
from services.identity.store.repository import Repository
from shared.lease import Lease
from shared.mongo import Aggregates, is_duplicate

ROW_BATCH = 500


class ImportJobRepository(Repository[ImportJob]):
    model = ImportJob

    def __init__(self, aggregates: Aggregates, lease_seconds: float) -> None:
        super().__init__(aggregates)
        self.lease = Lease(aggregates.collection, seconds=lease_seconds)

    def company_of(self, aggregate: ImportJob) -> str | None:
        return aggregate.company_id

    async def get(self, job_id: str, *, company_id: str | None = None) -> ImportJob | None:
        """The job, or None; with ``company_id`` only one of that company."""
        query: dict[str, Any] = {"_id": job_id}
        if company_id is not None:
            query["company_id"] = company_id
        return await self.find(query)

    async def add(self, job: ImportJob) -> None:
        """Save a new job (its id is new: a duplicate is an error)."""
        await self._aggregates.create(job.to_document())

    async def take(self, owner: str) -> ImportJob | None:
        """A job nobody works on (queued, or running with its lease run out), now running
        and held by ``owner``; None when there is none."""
        taken = await self.lease.claim({"status": {"$in": ["queued", "running"]}}, owner,
                                       also={"status": "running"})
        return None if taken is None else ImportJob.from_document(taken.doc)

    async def count(self, job_id: str, owner: str, outcomes: list[RowOutcome]) -> None:
        """Count a batch of rows and renew the lease, in one write of the job (``JobLost``
        when another runner holds it now)."""
        def apply(job: ImportJob) -> None:
            job.count(owner, outcomes, self.lease.clock() + self.lease.seconds)
        await self.change_one({"_id": job_id}, apply)

    async def change(self, job_id: str, change: Callable[[ImportJob], None]) -> None:
        await self.change_one({"_id": job_id}, change)


def _slot_id(company_id: str) -> str:
    return f"running-import:{company_id}"


class ImportRows:
    """The rows of the imports waiting to be invited, each ``<job>:<row>``; and per company
    the slot of its one running import (``running-import:<company>``, row 0), whose
    ``job_id`` names the job holding it."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._rows = collection

    async def add(self, job_id: str, rows: list[dict[str, Any]]) -> None:
        """Store a job's rows (``row``, ``values``, ``errors``), in batches."""
        docs = [{"_id": f"{job_id}:{r['row']:07d}", "job_id": job_id, **r} for r in rows]
        for start in range(0, len(docs), ROW_BATCH):
            await self._rows.insert_many(docs[start:start + ROW_BATCH])

    async def after(self, job_id: str, row: int, limit: int) -> list[RowOutcome]:
        """The job's next ``limit`` rows after ``row``, in order."""
        docs = await self._rows.find({"job_id": job_id, "row": {"$gt": row}}).sort(
            "row", 1).limit(limit).to_list()
        return [RowOutcome(d["row"], d["values"], d["errors"]) for d in docs]

    async def delete(self, job_id: str) -> None:
        """The job's rows (its slot, row 0, is freed on its own, after them)."""
        await self._rows.delete_many({"job_id": job_id, "row": {"$gt": 0}})

    async def delete_all(self, job_id: str) -> None:
        await self._rows.delete_many({"job_id": job_id})

    async def take_slot(self, company_id: str, job_id: str) -> bool:
        """Take the company's import slot for the job; False when it is held."""
        try:
            await self._rows.insert_one({"_id": _slot_id(company_id), "job_id": job_id,
                                         "row": 0, "claimed_ts": time.time()})
            return True
        except Exception as e:
            if not is_duplicate(e):
                raise
            return False

    async def slot(self, company_id: str) -> tuple[str, float] | None:
        """The job holding the company's slot and when it took it, or None."""
        held = await self._rows.find_one({"_id": _slot_id(company_id)})
        return None if held is None else (str(held["job_id"]), float(held["claimed_ts"]))

    async def free_slot(self, company_id: str, job_id: str) -> None:
        """Free the company's slot if the job holds it."""
        await self._rows.delete_one({"_id": _slot_id(company_id), "job_id": job_id})
