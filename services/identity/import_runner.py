"""The background runner of invitation imports (ID-11), started by app.py in a process
configured to run it (``IDENTITY_INVITATION_JOBS``, on by default).

One runner per process; several processes share the work through a lease on each job (see
``handlers.invitation_imports``). The runner is woken by an upload in this process and looks
every ``invitation_job_poll_seconds`` for imports whose process stopped (their lease ran out).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from services.identity.handlers import Identity
from services.identity.handlers import invitation_imports as imports
from shared.app_keys import unit
from shared.logging import get_logger

log = get_logger("identity.invitations")


class InvitationJobs:
    """Works through invitation imports in the background."""

    def __init__(self, ctx: Identity, owner: str | None = None) -> None:
        self.ctx = ctx
        self.owner = owner or uuid.uuid4().hex
        self._tasks: set[asyncio.Task[None]] = set()

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
        uploaded = self.ctx.import_uploaded
        while True:
            try:
                while await self.work_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database is away: try again later
                log.warning("invitation import paused", error=str(e)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(uploaded.wait(),
                                       self.ctx.settings.invitation_job_poll_seconds)
            uploaded.clear()

    async def work_once(self) -> bool:
        """Take one import nobody works on and finish it; False when there is none."""
        return await imports.work_on_next_job(self.ctx, self.owner)


async def run_invitation_jobs(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: uploads are read in children of a fork server started (and tried once)
    here, so that the first upload does not pay for it; and, when this process is configured
    to, the runner works through the imports."""
    ctx = unit(app, Identity)
    await imports.start_parsers(ctx)
    runner = InvitationJobs(ctx) if ctx.settings.invitation_jobs else None
    if runner is not None:
        runner.start()
    yield
    if runner is not None:
        await runner.stop()
