"""The graceful-drain test's settings and its slow SMTP server."""

from __future__ import annotations

import asyncio

from tests.support.gateways import Mailbox

GRACE_SECONDS = 20.0
# Short, so a send the drain had left claimed would be repeated within the test's wait.
CLAIM_SECONDS = 5.0
RETRY_DELAYS = [0.2, 0.5, 1.0]
SLOW_SMTP_SECONDS = 12.0


class SlowingInbox(Mailbox):
    """Keeps every accepted message; while ``slow`` is set, a message is accepted (250) only
    ``SLOW_SMTP_SECONDS`` after its DATA arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = False
        self.held = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.slow:
            self.held += 1
            await asyncio.sleep(SLOW_SMTP_SECONDS)
        return await super().handle_DATA(server, session, envelope)
