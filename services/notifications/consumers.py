"""Events notifications consumes, declared in one table: each becomes a message."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from pydantic import BaseModel, EmailStr

from services.notifications import handlers
from services.notifications.messages import choose_language
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


class RegistrationStarted(EventData):
    """What notifications reads of ``identity.registration.started.v1``."""

    email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


def subscriptions(ctx: handlers.Notifications | None) -> list[Subscription]:
    async def registration_started(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, RegistrationStarted)
        link = ctx.link("/registration/verify?" + urlencode({"token": data.token}))
        await handlers.send_email(
            ctx, event_id=event.id, kind="registration_verification",
            recipient=str(data.email), language=choose_language(data.language),
            values={"link": link, "expires_at": data.expires_at.strftime("%Y-%m-%d %H:%M")},
            company_id=event.companyid)

    return [
        Subscription("identity.registration.started.v1", RegistrationStarted,
                     registration_started),
    ]
