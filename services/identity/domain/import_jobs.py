"""Invitation imports as jobs (ID-11): the upload stores the file's rows and the job; a runner
invites row after row and counts the outcomes into the job every N rows. No I/O.

    queued ──a runner takes its lease──▶ running ──every row counted──▶ completed
    (a running job whose runner stopped is taken over when its lease runs out)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from services.identity.domain.aggregate import Aggregate

# How many rejected rows a job lists (the counts stay exact beyond that).
REJECTED_ROWS_KEPT = 10_000
JobStatus = Literal["queued", "running", "completed"]


class JobLost(Exception):
    """Another process took the job over (this one was too slow to renew its lease)."""


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """A row of the file as stored for the job, and what went wrong inviting it (nothing:
    invited)."""

    row: int
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)


class ImportJob(Aggregate):
    """An invitation import (stored in ``bulk_jobs``); its lease fields are the kit's
    ``Lease`` defaults (``lease_until``, ``lease_owner``)."""

    company_id: str
    created_by: str
    file_name: str | None = None
    format: str
    status: JobStatus = "queued"
    total_rows: int
    processed_rows: int = 0
    invited: int = 0
    failed: int = 0
    last_row: int = 0
    rejected_rows: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    finished_at: datetime | None = None
    lease_until: float = 0.0
    lease_owner: str = ""

    @classmethod
    def new(cls, *, job_id: str, company_id: str, created_by: str, file_name: str | None,
            kind: str, rows: int, now: datetime) -> ImportJob:
        return cls.model_validate({
            "_id": job_id, "company_id": company_id, "created_by": created_by,
            "file_name": (file_name or "")[:200] or None, "format": kind,
            "status": "queued", "total_rows": rows, "processed_rows": 0, "invited": 0,
            "failed": 0, "last_row": 0, "rejected_rows": [], "created_at": now,
            "finished_at": None, "lease_until": 0.0, "lease_owner": ""})

    @property
    def progress(self) -> float:
        return round(self.processed_rows / self.total_rows, 4) if self.total_rows else 1.0

    def _check_held_by(self, owner: str) -> None:
        if self.lease_owner != owner:
            raise JobLost()

    def count(self, owner: str, outcomes: Sequence[RowOutcome], lease_until: float) -> None:
        """Count a batch of rows (those not counted yet) and renew the lease, in one write."""
        self._check_held_by(owner)
        for outcome in outcomes:
            if outcome.row <= self.last_row:
                continue
            self.processed_rows += 1
            if outcome.errors:
                self.failed += 1
                if len(self.rejected_rows) < REJECTED_ROWS_KEPT:
                    self.rejected_rows.append({
                        "row": outcome.row, "email": outcome.values.get("email", ""),
                        "errors": outcome.errors})
            else:
                self.invited += 1
            self.last_row = outcome.row
        self.lease_until = lease_until

    def finish(self, owner: str, now: datetime) -> None:
        self._check_held_by(owner)
        self.status, self.finished_at, self.lease_until = "completed", now, 0.0
