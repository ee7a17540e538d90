"""Events identity consumes, declared in one table: its own queue of password reset requests,
resolved off the request so that known and unknown addresses cost the request the same."""

from __future__ import annotations

from pydantic import BaseModel

from services.identity import events
from services.identity.handlers import Identity, account
from shared.bus import Subscription
from shared.events import CloudEvent


def subscriptions(ctx: Identity | None) -> list[Subscription]:
    async def password_reset_asked(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, events.PasswordResetAsked) and ctx is not None
        await account.send_password_reset(ctx, event.id, data.request_id, str(data.email))

    return [
        Subscription(events.PASSWORD_RESET_ASKED.type, events.PasswordResetAsked,
                     password_reset_asked),
    ]
